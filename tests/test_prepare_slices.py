"""The shipped top rows of the corpus-trained vectors: readable with counts, sane neighbours."""

import os

import numpy as np
import pytest

from clweadv.embeddings import read_embeddings

ROOT = os.path.join(os.path.dirname(__file__), "..", "third_party", "debian_w2v")


def _load(name):
  return read_embeddings(os.path.join(ROOT, name + ".vec"),
                         vocab_path=os.path.join(ROOT, name + ".vocab"))


def _neighbours(emb, word, k):
  v = emb.vectors / np.linalg.norm(emb.vectors, axis=1, keepdims=True)
  return [emb.words[i] for i in np.argsort(-(v @ v[emb.index[word]]))[1:k + 1]]


@pytest.mark.parametrize("name,word,near", [
    ("en.d100.top3000", "red", "blue"),
    ("it.d100.top3000", "rosso", "verde"),
    ("en.d300.top3000", "red", "blue"),
    ("fr.d300.top3000", "rouge", "jaune"),
])
def test_corpus_vectors(name, word, near):
  emb = _load(name)
  assert len(emb) == 3000
  assert (np.diff(emb.counts) <= 0).all()          # frequency order
  assert near in _neighbours(emb, word, 5)
