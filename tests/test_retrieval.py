"""Blocked NN/CSLS retrieval against a brute-force NumPy reference on real embedding slices."""

import glob
import os

import numpy as np
import pytest

from clweadv.bli import retrieval
from clweadv.embeddings import read_embeddings

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
GLOVE = os.path.join(ROOT, "third_party", "glove6b", "en.top5000.vec")
FASTTEXT_FR = sorted(glob.glob(os.path.join(ROOT, "third_party", "fasttext_fr", "fr.top*.vec")))[0]


@pytest.fixture(scope="module")
def glove():
  return read_embeddings(GLOVE).vectors


@pytest.fixture(scope="module")
def fasttext():
  return read_embeddings(FASTTEXT_FR).vectors


def _unit64(x):
  x = x.astype(np.float64)
  return x / np.linalg.norm(x, axis=1, keepdims=True)


def _cos64(q, k):
  return _unit64(q) @ _unit64(k).T


def _reference_topk(scores, k):
  ids = np.argsort(-scores, axis=1, kind="stable")[:, :k]
  return np.take_along_axis(scores, ids, axis=1), ids


def _assert_same_ranking(ids, ref_ids, ref_scores_full, tol=1e-5):
  """Same ids, except where the two candidates are a float32 near-tie in the reference."""
  ids = np.asarray(ids)
  diff = ids != ref_ids
  rows, cols = np.nonzero(diff)
  gaps = np.abs(ref_scores_full[rows, ids[rows, cols]] - ref_scores_full[rows, ref_ids[rows, cols]])
  assert np.all(gaps < tol), f"{diff.sum()} ids differ, largest score gap {gaps.max()}"
  assert diff.mean() < 1e-3


@pytest.mark.parametrize("which", ["glove", "fasttext"])
def test_nn_matches_bruteforce(which, glove, fasttext):
  x = glove if which == "glove" else fasttext
  query, keys = x[:700], x[700:]
  scores, ids = retrieval.topk_cosine(query, keys, k=10, block_size=512, query_block_size=256)
  cos = _cos64(query, keys)
  ref_scores, ref_ids = _reference_topk(cos, 10)
  _assert_same_ranking(ids, ref_ids, cos)
  np.testing.assert_allclose(np.asarray(scores), ref_scores, atol=2e-6)


def test_csls_matches_bruteforce(glove, fasttext):
  # Two languages, a real 300-d French query side and a real 50-d English side lifted to 300-d
  # by a fixed orthonormal embedding, so the two spaces have genuinely different neighbourhoods.
  rng = np.random.default_rng(0)
  lift, _ = np.linalg.qr(rng.standard_normal((300, 50)))
  src = fasttext[:2000]
  tgt = (glove[:3000].astype(np.float64) @ lift.T).astype(np.float32)
  cos = _cos64(src, tgt)
  r_src = np.sort(cos, axis=1)[:, -10:].mean(axis=1)
  r_tgt = np.sort(cos.T, axis=1)[:, -10:].mean(axis=1)
  r_src_ours = np.asarray(retrieval.mean_topk_similarity(src, tgt, k=10, block_size=700))
  r_tgt_ours = np.asarray(retrieval.mean_topk_similarity(tgt, src, k=10, block_size=700))
  np.testing.assert_allclose(r_src_ours, r_src, atol=2e-6)
  np.testing.assert_allclose(r_tgt_ours, r_tgt, atol=2e-6)
  csls = 2 * cos - r_src[:, None] - r_tgt[None, :]
  ref_scores, ref_ids = _reference_topk(csls, 10)
  scores, ids = retrieval.csls_topk(src, tgt, k=10, r_query_N=r_src_ours, r_keys_M=r_tgt_ours,
                                    block_size=1000, query_block_size=300)
  _assert_same_ranking(ids, ref_ids, csls)
  np.testing.assert_allclose(np.asarray(scores), ref_scores, atol=1e-5)
  # csls_translate computes the r terms itself, r_S over all sources, for a subset of queries.
  sub = np.arange(100, 400)
  _, ids_sub, r_tgt_again = retrieval.csls_translate(src_mapped_NxE=src, tgt_MxE=tgt,
                                                      query_ids=sub, k=10)
  np.testing.assert_allclose(np.asarray(r_tgt_again), r_tgt, atol=2e-6)
  _assert_same_ranking(ids_sub, ref_ids[sub], csls[sub])
  # Without scores the queries' own r is skipped: the ranking is the brute-force CSLS one still.
  none, ids_only, _ = retrieval.csls_translate(src_mapped_NxE=src, tgt_MxE=tgt, query_ids=sub,
                                               k=10, r_tgt_M=r_tgt_again, scores=False)
  assert none is None
  _assert_same_ranking(ids_only, ref_ids[sub], csls[sub])


def test_block_size_changes_nothing(fasttext):
  query, keys = fasttext[:600], fasttext[600:]
  r_q = retrieval.mean_topk_similarity(query, keys, k=10)
  r_k = retrieval.mean_topk_similarity(keys, query, k=10)
  results = []
  # Unblocked (one block holding every key and every query) first, then odd sizes.
  for block, qblock in [(len(keys), len(query)), (2048, 512), (1000, 128), (777, 599), (13, 7)]:
    nn = retrieval.topk_cosine(query, keys, k=10, block_size=block, query_block_size=qblock)
    cs = retrieval.csls_topk(query, keys, k=10, r_query_N=r_q, r_keys_M=r_k, block_size=block,
                             query_block_size=qblock)
    results.append([np.asarray(a) for a in (*nn, *cs)])
  base = results[0]
  for other in results[1:]:
    np.testing.assert_array_equal(other[1], base[1])
    np.testing.assert_array_equal(other[3], base[3])
    # Scores agree to float32 rounding (the matmul kernel may sum in a shape-dependent order).
    np.testing.assert_allclose(other[0], base[0], atol=1e-6)
    np.testing.assert_allclose(other[2], base[2], atol=2e-6)


def test_ties_go_to_lower_index_for_any_block(glove):
  keys = np.repeat(glove[:300], 3, axis=0)  # every key three times: exact ties
  query = glove[:300]
  expected = 3 * np.arange(300)[:, None] + np.arange(3)[None, :]
  # Small blocks take a full top-k per block, large ones the grouped candidate selection.
  for block in (900, 512, 256, 120, 7, 2):
    for k in (3, 5):
      _, ids = retrieval.topk_cosine(query, keys, k=k, block_size=block)
      np.testing.assert_array_equal(np.asarray(ids)[:, :3], expected)


def test_no_recompile_across_calls(glove):
  keys = glove[1000:3000]
  retrieval.topk_cosine(glove[:1000], keys, k=5, block_size=256, query_block_size=128)
  before = retrieval._scan_topk._cache_size()
  # Other query counts (>= one query block), other values: the same compiled kernel.
  retrieval.topk_cosine(glove[:333], keys, k=5, block_size=256, query_block_size=128)
  retrieval.topk_cosine(glove[3000:4500] * 2.0, keys, k=5, block_size=256, query_block_size=128)
  r = np.zeros(len(keys), np.float32)
  retrieval.csls_topk(glove[:129], keys, k=5, r_query_N=np.zeros(129, np.float32), r_keys_M=r,
                      block_size=256, query_block_size=128)
  assert retrieval._scan_topk._cache_size() == before


def test_bad_arguments(glove):
  with pytest.raises(ValueError, match="k=11"):
    retrieval.topk_cosine(glove[:5], glove[:10], k=11)
  with pytest.raises(ValueError, match="dimension"):
    retrieval.topk_cosine(glove[:5], np.ones((10, 3), np.float32), k=1)


def test_progress_reports_every_query_block(glove):
  seen = []
  retrieval.topk_cosine(glove[:1000], glove[1000:2000], k=1, query_block_size=300,
                        progress=lambda done, total: seen.append((done, total)))
  assert seen == [(300, 1000), (600, 1000), (900, 1000), (1000, 1000)]
