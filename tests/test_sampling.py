"""Word sampling on a real vocabulary (corpus counts of the Debian-trained English vectors)."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from clweadv.embeddings import read_counts
from clweadv.sampling import cdf_from_probabilities, sample_ids, sampling_probabilities

from conftest import ROOT

VOCAB = os.path.join(ROOT, "third_party", "debian_w2v", "en.d100.top3000.vocab")


@pytest.fixture(scope="module")
def counts():
  c = read_counts(VOCAB)
  return np.array(list(c.values()), np.float64)


def _formula(c, kind, t=1e-3):
  big_t = t * c.sum()
  ratio = (np.sqrt(c / big_t) + 1) * big_t / c
  w = {"faithful": np.maximum(1, ratio) * c, "word2vec": np.minimum(1, ratio) * c,
       "uniform": np.ones_like(c)}[kind]
  return w / w.sum()


@pytest.mark.parametrize("kind", ["faithful", "word2vec", "uniform"])
def test_sampled_frequencies_match_the_formula(counts, kind):
  p = sampling_probabilities(counts, kind=kind, t=1e-3)
  np.testing.assert_allclose(p, _formula(counts, kind), rtol=1e-9)
  cdf = jnp.asarray(cdf_from_probabilities(p))
  draw = jax.jit(lambda k: sample_ids(k, cdf, n=1_000_000))
  ids = np.concatenate([np.asarray(draw(jax.random.PRNGKey(i))) for i in range(4)])
  freq = np.bincount(ids, minlength=len(p)) / len(ids)
  # Total variation distance; sampling noise alone gives ~0.011 with 3,000 words and 4M draws.
  assert 0.5 * np.abs(freq - p).sum() < 0.02
  top = np.argsort(-p)[:20]  # The most probable words, each within 5 standard deviations.
  assert np.all(np.abs(freq[top] - p[top]) < 5 * np.sqrt(p[top] * (1 - p[top]) / len(ids)))


def test_faithful_upsamples_rare_words_and_word2vec_subsamples_frequent_ones(counts):
  raw = counts / counts.sum()
  faithful = sampling_probabilities(counts, kind="faithful")
  w2v = sampling_probabilities(counts, kind="word2vec")
  # "the" (the most frequent word) loses mass under word2vec's subsampling, relative to raw.
  assert w2v[0] < raw[0]
  # The original's max() gives every word at least its count, rare words far more (about T):
  # the distribution is flatter than word2vec's (rarest/most-frequent ratio much larger).
  assert faithful[-1] / faithful[0] > 3 * (w2v[-1] / w2v[0])
  assert faithful[-1] > raw[-1]
