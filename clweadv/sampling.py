"""Word sampling distributions (host side) and on-device sampling by inverse CDF."""

import jax
import jax.numpy as jnp
import numpy as np

SAMPLINGS = ("faithful", "word2vec", "uniform")


def zipf_counts(n):
  """Counts implied by Zipf's law for a frequency-ordered vocabulary without counts."""
  return np.round(1e9 / np.arange(1, n + 1)).astype(np.int64)


def sampling_probabilities(counts_N, *, kind, t=1e-3):
  """The probability of drawing each word at a step.

  faithful: the original code, p ∝ max(1, (sqrt(c/T) + 1) T / c) c with T = t * total count:
    `max` upsamples rare words (every word weighs at least its count, rare ones up to T-ish).
  word2vec: word2vec's subsampling of frequent words, keep prob min(1, (sqrt(c/T) + 1) T / c),
    so p ∝ min(1, ...) c (what the paper's text describes).
  uniform: every word alike.
  """
  if kind not in SAMPLINGS:
    raise ValueError(f"unknown sampling {kind!r}")
  c = np.asarray(counts_N, dtype=np.float64)
  if kind == "uniform":
    p = np.ones_like(c)
  else:
    big_t = t * c.sum()
    ratio = (np.sqrt(c / big_t) + 1.0) * big_t / np.maximum(c, 1e-12)
    factor = np.maximum(1.0, ratio) if kind == "faithful" else np.minimum(1.0, ratio)
    p = factor * c
  return p / p.sum()


def cdf_from_probabilities(p_N):
  cdf = np.cumsum(np.asarray(p_N, np.float64))
  return (cdf / cdf[-1]).astype(np.float32)


def sample_ids(key, cdf_N, *, n):
  """Draws `n` word ids with replacement from the distribution whose CDF is `cdf_N`."""
  u = jax.random.uniform(key, (n,), dtype=cdf_N.dtype)
  ids = jnp.searchsorted(cdf_N, u, side="right")
  return jnp.minimum(ids, cdf_N.shape[0] - 1)
