"""Procrustes, refinement, similarity init and self-learning on real slices and exact rotations
of them (where the right answer is known)."""

import numpy as np
import pytest

from clweadv import refine
from clweadv.embeddings import read_embeddings
from clweadv.normalize import normalize
from tests.conftest import EN_GLOVE, FR_FASTTEXT

N = 2000


def _orthogonal(d, e, seed):
  q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((max(d, e), max(d, e))))
  return q[:d, :e].astype(np.float32) if d <= e else q[:e, :d].T.astype(np.float32)


@pytest.fixture(scope="module")
def glove():
  return normalize(read_embeddings(EN_GLOVE, max_vocab=N).vectors)


@pytest.fixture(scope="module")
def fasttext():
  return normalize(read_embeddings(FR_FASTTEXT, max_vocab=N).vectors)


@pytest.fixture(scope="module")
def rotated(glove):
  """The GloVe slice rotated, its rows shuffled within the first 1000 and within the next 1000
  (row i of the target is not word i, but the top 1000 words are the same set on both sides)."""
  q = _orthogonal(50, 50, seed=1)
  rng = np.random.default_rng(2)
  perm = np.concatenate([rng.permutation(1000), 1000 + rng.permutation(N - 1000)])
  tgt = (glove @ q)[perm]
  gold = np.argsort(perm)  # source row i is target row gold[i]
  return q, tgt, gold


def _p_at_1(src_mapped, tgt, gold):
  z = tgt / np.linalg.norm(tgt, axis=1, keepdims=True)
  x = src_mapped / np.linalg.norm(src_mapped, axis=1, keepdims=True)
  return 100.0 * np.mean((x @ z.T).argmax(axis=1) == gold)


def test_procrustes_recovers_rotation_of_real_slice(fasttext):
  q = _orthogonal(300, 300, seed=0)
  w = refine.procrustes(fasttext, fasttext @ q)
  np.testing.assert_allclose(w, q, atol=1e-4)
  np.testing.assert_allclose(w @ w.T, np.eye(300), atol=1e-4)


def test_procrustes_semi_orthogonal_50_to_300(glove):
  q = _orthogonal(50, 300, seed=0)  # orthonormal rows: embeds GloVe-50 into a 300-d space
  w = refine.procrustes(glove, glove @ q)
  assert w.shape == (50, 300)
  np.testing.assert_allclose(w, q, atol=1e-4)
  np.testing.assert_allclose(w @ w.T, np.eye(50), atol=1e-4)
  # And back (300 -> 50): orthonormal columns.
  w_back = refine.procrustes(glove @ q, glove)
  np.testing.assert_allclose(w_back, q.T, atol=1e-4)


def test_procrustes_shape_errors():
  with pytest.raises(ValueError):
    refine.procrustes(np.ones((3, 2)), np.ones((4, 2)))


def test_induce_dictionary_on_exact_rotation(glove, rotated):
  q, tgt, gold = rotated
  pairs = refine.induce_dictionary(src_mapped_NxE=glove @ q, tgt_MxE=tgt, vocab=N)
  assert len(pairs) > 0.9 * N
  assert np.mean(gold[pairs[:, 0]] == pairs[:, 1]) > 0.99
  with pytest.raises(ValueError, match="unknown induction mode"):
    refine.induce_dictionary(src_mapped_NxE=glove, tgt_MxE=glove, mode="bogus")


def test_refine_converges_from_perturbed_rotation(glove, rotated):
  q, tgt, gold = rotated
  noise = _orthogonal(50, 50, seed=3)
  # A rotation part of the way from q towards q R: q (I + 0.6 (R - I)), re-orthogonalised.
  step = np.eye(50) + 0.6 * (noise - np.eye(50))
  start = refine.procrustes(np.eye(50, dtype=np.float32), q @ step)
  before = _p_at_1(glove @ start, tgt, gold)
  logs = []
  w = refine.refine(src_NxD=glove, tgt_MxE=tgt, W=start, iters=3, vocab=N, criterion_vocab=N,
                    log_fn=logs.append)
  after = _p_at_1(glove @ w, tgt, gold)
  assert before < 80
  assert after > 99
  assert [e["refine/iter"] for e in logs] == [0, 1, 2, 3]
  assert logs[-1]["refine/criterion"] > logs[0]["refine/criterion"]


def test_similarity_init_finds_pairs_of_exact_rotation(glove, rotated):
  _, tgt, gold = rotated
  pairs = refine.similarity_init(src_NxD=glove, tgt_MxE=tgt, vocab=1000)
  assert len(pairs) >= 1000
  assert np.mean(gold[pairs[:, 0]] == pairs[:, 1]) > 0.9


def test_self_learning_from_similarity_seed_recovers_rotation(glove, rotated):
  q, tgt, gold = rotated
  # Unshuffled copy so that the top words of both sides are the same words.
  w, info = refine.unsupervised_map(src_NxD=glove, tgt_MxE=glove @ q, init="similarity",
                                    sl_max_iters=20, refine_iters=1, refine_vocab=N,
                                    criterion_vocab=N)
  assert _p_at_1(glove @ w, glove @ q, np.arange(N)) > 99
  assert info["criterion"] > 0.9
  assert info["self_learning"]["iters"] <= 20
  assert info["seed_pairs"] >= 1000


def test_unsupervised_map_50_to_300_rotation(glove):
  q = _orthogonal(50, 300, seed=4)
  w, _ = refine.unsupervised_map(src_NxD=glove, tgt_MxE=glove @ q, init="similarity",
                                 sl_max_iters=10, refine_iters=0, criterion_vocab=N)
  assert w.shape == (50, 300)
  assert _p_at_1(glove @ w, glove @ q, np.arange(N)) > 99


def test_unsupervised_map_aae_start_and_errors(glove, rotated):
  q, _, _ = rotated
  w, info = refine.unsupervised_map(src_NxD=glove, tgt_MxE=glove @ q, init="aae", W_init=q,
                                    sl_max_iters=3, refine_iters=0,
                                    criterion_vocab=N)
  # Stochastic induction keeps only 10% of the similarities: the map moves, but stays right.
  assert _p_at_1(glove @ w, glove @ q, np.arange(N)) > 99
  with pytest.raises(ValueError, match="init='aae' needs"):
    refine.unsupervised_map(src_NxD=glove, tgt_MxE=glove, init="aae")
  with pytest.raises(ValueError, match="unknown init 'bogus'"):
    refine.unsupervised_map(src_NxD=glove, tgt_MxE=glove, init="bogus")


def test_anchor_pairs_on_real_vocabularies():
  en = read_embeddings(EN_GLOVE, max_vocab=N)
  fr = read_embeddings(FR_FASTTEXT, max_vocab=N)
  pairs = refine.anchor_pairs(src_words=en.words, tgt_words=fr.words, vocab=N)
  same = [en.words[i] == fr.words[j] for i, j in pairs]
  assert all(same) and len(pairs) > 100
  nums = refine.anchor_pairs(src_words=en.words, tgt_words=fr.words, vocab=N, kind="numerals")
  assert 0 < len(nums) < len(pairs)
  assert all(en.words[i].isdigit() for i, _ in nums[:10])
  assert "2010" in {en.words[i] for i, _ in nums}
  with pytest.raises(ValueError, match="unknown anchor kind"):
    refine.anchor_pairs(src_words=en.words, tgt_words=fr.words, kind="bogus")


def test_unsupervised_map_identical_on_rotated_copy(glove, rotated):
  q, _, _ = rotated
  words = read_embeddings(EN_GLOVE, max_vocab=N).words
  w, info = refine.unsupervised_map(src_NxD=glove, tgt_MxE=glove @ q, init="identical",
                                    src_words=words, tgt_words=words, refine_iters=1,
                                    refine_vocab=N, criterion_vocab=N)
  assert info["seed_pairs"] == N and "self_learning" not in info
  np.testing.assert_allclose(w, q, atol=1e-3)
