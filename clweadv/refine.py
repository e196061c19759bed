"""Mapping without a dictionary: Procrustes, CSLS dictionary induction, refinement, self-learning.

Everything here is unsupervised: no gold dictionary is read, and every choice between candidate
mappings is made with `unsupervised_criterion` (the mean cosine of the CSLS translations of the
most frequent source words, as MUSE). A test dictionary is for reporting only, elsewhere.

The pieces, from small to large:

- `procrustes(x_NxD, y_NxE)`: the orthogonal (D == E) or semi-orthogonal (D != E) W minimising
  ||x W - y||, by one SVD.
- `induce_dictionary(...)`: translation pairs from CSLS (or plain cosine) nearest neighbours
  among the most frequent words, mutual or bidirectional.
- `refine(...)`: MUSE's refinement (mutual CSLS dictionary, Procrustes, repeat).
- `similarity_init(...)`: VecMap's unsupervised seed dictionary from the sorted square root of
  each language's own similarity matrix (comparable across languages without any dictionary).
- `self_learning(...)`: VecMap's self-learning (bidirectional CSLS induction with stochastic
  dropout of the similarity matrix, keep probability raised when the objective stalls).
- `anchor_pairs(...)`: seed pairs from word forms spelt the same in both vocabularies
  (`identical`) or from numerals only (`numerals`); no dictionary, only the two vocabularies.
- `unsupervised_map(...)`: the entry point: a start (`identical`, `numerals`, `similarity`,
  `aae`, `identity`), self-learning (after `similarity`), refinement; returns the mapping and a
  record of what was done.

Rows are compared by cosine: callers normalise the spaces first (`clweadv.normalize`).
"""

import re
import time
from typing import Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np

from clweadv.bli import evaluation, retrieval
from clweadv.errors import InputError
from clweadv.normalize import unit_rows

INITS = ("similarity", "aae", "identity", "identical", "numerals")
_NUMERAL = re.compile(r"[0-9]+(?:[.,:/-][0-9]+)*")
INDUCTION_MODES = ("mutual_csls", "union_csls", "s2t_csls", "t2s_csls",
                   "mutual_nn", "union_nn", "s2t_nn", "t2s_nn")


# --------------------------------------------------------------------------------------------
# Procrustes.


def procrustes(x_NxD, y_NxE):
  """The W (D x E) with orthonormal rows or columns minimising ||x W - y||_F.

  With D == E, W is orthogonal (the classic solution U V^T of x^T y = U S V^T). With D != E
  the same formula gives the semi-orthogonal solution: for D < E (GloVe-50 -> fastText-300) W
  has orthonormal rows and maps the source into a D-dimensional subspace of the target space
  without changing lengths or angles; for D > E W has orthonormal columns (a projection).

  >>> import numpy as np
  >>> x = np.eye(3, dtype=np.float32)
  >>> np.allclose(procrustes(x, x[:, ::-1]), x[:, ::-1])
  True
  """
  x = np.asarray(x_NxD, np.float64)
  y = np.asarray(y_NxE, np.float64)
  if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
    raise ValueError(f"procrustes needs N x D and N x E arrays, got {x.shape} and {y.shape}")
  u, _, vt = np.linalg.svd(x.T @ y, full_matrices=False)
  return (u @ vt).astype(np.float32)


def induce_dictionary(*, src_mapped_NxE, tgt_MxE, vocab=15000, mode="mutual_csls", csls_k=10):
  """Translation pairs among the `vocab` most frequent words of each side (rows in frequency
  order).

  Args:
    src_mapped_NxE: source vectors already mapped into the target space.
    tgt_MxE: target vectors.
    vocab: how many of the most frequent rows of each side take part.
    mode: `{mutual,union,s2t,t2s}_{csls,nn}`: mutual keeps pairs that are each other's
      nearest neighbour; union keeps the nearest neighbours of both directions.
    csls_k: CSLS neighbourhood size.

  Returns:
    int64 array P x 2 of (source row, target row), sorted and without duplicates.
  """
  if mode not in INDUCTION_MODES:
    raise ValueError(f"unknown induction mode {mode!r} (known: {', '.join(INDUCTION_MODES)})")
  direction, kind = mode.split("_")
  xw = unit_rows(src_mapped_NxE[:vocab])
  z = unit_rows(tgt_MxE[:vocab])
  # Blocked retrieval (`clweadv.bli.retrieval`), with the keys sharded over the devices. A query's
  # own r does not change its argmax, so only the keys' r is computed (zeros for plain nearest
  # neighbours).

  def argmax(query, keys):
    r_keys = (np.asarray(retrieval.mean_topk_similarity(keys, query, k=min(csls_k, len(query))))
              if kind == "csls" else np.zeros(len(keys), np.float32))
    _, ids = retrieval.csls_topk(query, keys, k=1, r_query_N=np.zeros(len(query), np.float32),
                                 r_keys_M=r_keys)
    return np.asarray(ids)[:, 0]

  fwd = argmax(xw, z) if direction != "t2s" else None
  bwd = argmax(z, xw) if direction != "s2t" else None
  if direction == "mutual":
    src_ids = np.arange(len(xw))
    keep = bwd[fwd] == src_ids
    pairs = np.stack([src_ids[keep], fwd[keep]], axis=1)
  elif direction == "s2t":
    pairs = np.stack([np.arange(len(xw)), fwd], axis=1)
  elif direction == "t2s":
    pairs = np.stack([bwd, np.arange(len(z))], axis=1)
  else:
    pairs = np.concatenate([np.stack([np.arange(len(xw)), fwd], axis=1),
                            np.stack([bwd, np.arange(len(z))], axis=1)])
  return np.unique(pairs.astype(np.int64), axis=0)


def unsupervised_criterion(*, src_mapped_NxE, tgt_MxE, vocab=10000, csls_k=10):
  """MUSE's model-selection criterion (`clweadv.bli.evaluation.mean_cosine_criterion`): the mean
  cosine of the CSLS translations of the `vocab` most frequent source words, retrieval (and the
  r terms) among the `vocab` most frequent target words, which bounds the cost."""
  n = min(vocab, len(src_mapped_NxE))
  return evaluation.mean_cosine_criterion(
      src_mapped_NxE=np.asarray(src_mapped_NxE[:n], np.float32),
      tgt_MxE=np.asarray(tgt_MxE[:vocab], np.float32), top_n=vocab, csls_k=csls_k)


def random_orthogonal(d, e, *, seed):
  """A random (semi-)orthogonal D x E matrix (orthonormal rows or columns), Haar-distributed."""
  q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((max(d, e), min(d, e))))
  q = q * np.sign(np.diag(r))
  return (q if d >= e else q.T).astype(np.float32)


def chance_criterion(*, src_NxD, tgt_MxE, refine_iters=3, seeds=(0, 1), vocab=15000,
                     criterion_vocab=10000, csls_k=10):
  """The unsupervised criterion a mapping reaches by chance on these two spaces: the best over
  `seeds` of random (semi-)orthogonal maps after `refine_iters` refinement iterations.

  Refinement raises the criterion of any start (it aligns the pairs it induces itself), so a
  refined mapping is judged against refined random ones. No dictionary is involved.
  """
  d, e = src_NxD.shape[1], tgt_MxE.shape[1]
  # Refinement keeps its best mapping, whose criterion is the best it logs: the criteria logged
  # are the ones computed anyway, none computed twice.
  seen = []
  for seed in seeds:
    refine(src_NxD=src_NxD, tgt_MxE=tgt_MxE, W=random_orthogonal(d, e, seed=seed),
           iters=refine_iters, vocab=vocab, csls_k=csls_k, criterion_vocab=criterion_vocab,
           log_fn=lambda row: seen.append(row["refine/criterion"]))
  return float(max(seen))


# --------------------------------------------------------------------------------------------
# MUSE refinement.


def _map(x, w):
  return np.asarray(x, np.float32) @ w


def refine(*, src_NxD, tgt_MxE, W, iters=5, vocab=15000, csls_k=10, criterion_vocab=10000,
           tol=None, log_fn: Optional[Callable] = None):
  """MUSE's refinement: induce a dictionary (mutual CSLS nearest neighbours among the `vocab`
  most frequent words), solve (semi-)orthogonal Procrustes, repeat `iters` times.

  Each iteration's unsupervised criterion goes to `log_fn({"refine/iter", "refine/criterion",
  "refine/pairs", "refine/seconds"})`. The mapping returned is the one with the best criterion,
  the starting `W` included (iteration 0), so refinement never makes it worse by its own
  measure. With `tol`, iterations stop once the criterion gains less than `tol`.

  Returns:
    W (D x E).
  """
  W = np.asarray(W, np.float32)
  best_w, best_c = W, unsupervised_criterion(
      src_mapped_NxE=_map(src_NxD[:criterion_vocab], W), tgt_MxE=tgt_MxE, vocab=criterion_vocab,
      csls_k=csls_k)
  if log_fn:
    log_fn({"refine/iter": 0, "refine/criterion": best_c})
  for it in range(1, iters + 1):
    t0 = time.perf_counter()
    pairs = induce_dictionary(src_mapped_NxE=_map(src_NxD[:vocab], W), tgt_MxE=tgt_MxE,
                              vocab=vocab, csls_k=csls_k)
    if len(pairs) < 2:
      break
    W = procrustes(src_NxD[pairs[:, 0]], tgt_MxE[pairs[:, 1]])
    c = unsupervised_criterion(src_mapped_NxE=_map(src_NxD[:criterion_vocab], W), tgt_MxE=tgt_MxE,
                               vocab=criterion_vocab, csls_k=csls_k)
    if log_fn:
      log_fn({"refine/iter": it, "refine/criterion": c, "refine/pairs": int(len(pairs)),
              "refine/seconds": time.perf_counter() - t0})
    gain = c - best_c
    if c > best_c:
      best_w, best_c = W, c
    if tol is not None and gain < tol:
      break
  return best_w


# --------------------------------------------------------------------------------------------
# VecMap's unsupervised initialisation and self-learning.


def similarity_profiles(x_NxD, *, vocab=4000):
  """Each of the `vocab` first words as its sorted row of sqrt(X X^T), normalised
  (unit, center, unit): a description of the word by the shape of its similarity distribution,
  comparable across languages (VecMap)."""
  x = unit_rows(x_NxD[:vocab]).astype(np.float64)
  u, s, _ = np.linalg.svd(x, full_matrices=False)
  sim = ((u * s) @ u.T).astype(np.float32)
  sim.sort(axis=1)
  sim = unit_rows(sim)
  sim -= sim.mean(axis=0, keepdims=True)
  return unit_rows(sim)


def similarity_init(*, src_NxD, tgt_MxE, vocab=4000, csls_k=10):
  """VecMap's unsupervised seed dictionary: nearest neighbours in both directions (CSLS when
  `csls_k` > 0) between the similarity profiles of the `vocab` most frequent words of each
  language.

  Works for any two dimensions (the profiles live in a `vocab`-dimensional space of their own).

  Returns:
    int64 array P x 2 of (source row, target row).
  """
  n = min(vocab, len(src_NxD), len(tgt_MxE))
  xs = similarity_profiles(src_NxD, vocab=n)
  zs = similarity_profiles(tgt_MxE, vocab=n)
  mode = f"union_{'csls' if csls_k > 0 else 'nn'}"
  return induce_dictionary(src_mapped_NxE=xs, tgt_MxE=zs, vocab=n, mode=mode,
                           csls_k=max(csls_k, 1))


def self_learning(*, src_NxD, tgt_MxE, seed_pairs=None, W=None, vocab=20000, csls_k=10,
                  keep_prob=0.1, keep_growth=2.0, patience=50, threshold=1e-6, max_iters=1000,
                  time_budget_s=None, seed=0, log_fn: Optional[Callable] = None):
  """VecMap's self-learning: alternately solve (semi-)orthogonal Procrustes on the current
  dictionary and induce a new one by bidirectional CSLS among the `vocab` most frequent words,
  each similarity dropped with probability 1 - keep_prob (stochastic dictionary induction).
  When the objective has not improved by `threshold` for `patience` iterations, keep_prob is
  multiplied by `keep_growth`; once it has reached 1 and stalls again, the loop ends.

  Start from `seed_pairs` (P x 2 rows) or from a mapping `W` (D x E).

  Returns:
    (W, info) with info = {"iters", "objective", "keep_prob", "seconds", "converged"}.
  """
  if (seed_pairs is None) == (W is None):
    raise ValueError("self_learning needs exactly one of seed_pairs and W")
  t0 = time.perf_counter()
  x = unit_rows(src_NxD[:vocab])
  z = unit_rows(tgt_MxE[:vocab])
  zj = jnp.asarray(z)
  if W is None:
    seed_pairs = np.asarray(seed_pairs)
    W = procrustes(src_NxD[seed_pairs[:, 0]], tgt_MxE[seed_pairs[:, 1]])
  W = np.asarray(W, np.float32)
  rng_key = jax.random.key(seed, impl="rbg")
  best_obj, last_improvement, it, converged = -np.inf, 0, 0, False
  src_ids, tgt_ids = np.arange(len(x)), np.arange(len(z))
  while it < max_iters:
    it += 1
    if it - last_improvement > patience:
      if keep_prob >= 1.0:
        converged = True
        break
      keep_prob = min(1.0, keep_prob * keep_growth)
      last_improvement = it
    xw = unit_rows(x @ W)
    xwj = jnp.asarray(xw)
    r_tgt = np.asarray(retrieval.mean_topk_similarity(z, xw, k=min(csls_k, len(xw))))
    kf, kb = jax.random.split(jax.random.fold_in(rng_key, it))
    fwd, best_f, r_src = retrieval.stochastic_csls_argmax(
        xw, zj, r_keys_M=r_tgt, k=csls_k, keep_prob=keep_prob, rng_key=kf)
    bwd, best_b, _ = retrieval.stochastic_csls_argmax(
        z, xwj, r_keys_M=r_src, k=csls_k, keep_prob=keep_prob, rng_key=kb)
    objective = float((best_f.mean() + best_b.mean()) / 2)
    if objective - best_obj >= threshold:
      last_improvement = it
      best_obj = objective
    s = np.concatenate([src_ids, bwd])
    t = np.concatenate([fwd, tgt_ids])
    W = procrustes(x[s], z[t])
    elapsed = time.perf_counter() - t0
    if log_fn:
      log_fn({"self_learning/iter": it, "self_learning/objective": objective,
              "self_learning/keep_prob": keep_prob, "self_learning/seconds": elapsed})
    if time_budget_s is not None and elapsed > time_budget_s:
      break
  info = {"iters": it, "objective": best_obj, "keep_prob": keep_prob,
          "seconds": time.perf_counter() - t0, "converged": converged}
  return W, info


def anchor_pairs(*, src_words, tgt_words, vocab=20000, kind="identical"):
  """Seed pairs from word forms written the same in both vocabularies (no dictionary).

  `identical`: every word among the `vocab` most frequent source words that is also among the
  `vocab` most frequent target words (names, numbers, technical terms, some false friends);
  `numerals`: only those made of digits (`1`, `2010`, `3.5`), as Artetxe et al. 2017.

  Returns:
    int64 array P x 2 of (source row, target row).
  """
  if kind not in ("identical", "numerals"):
    raise ValueError(f"unknown anchor kind {kind!r} (known: identical, numerals)")
  index = {w: j for j, w in enumerate(tgt_words[:vocab])}
  pairs = [(i, index[w]) for i, w in enumerate(src_words[:vocab]) if w in index
           and (kind == "identical" or _NUMERAL.fullmatch(w))]
  return np.array(pairs, np.int64).reshape(-1, 2)


# --------------------------------------------------------------------------------------------
# The entry point.


# The dictionary-free starts' settings (VecMap's and MUSE's values; no caller changes them).
ANCHOR_VOCAB = 20000       # Anchors are looked for among this many most frequent words a side.
SIMILARITY_VOCAB = 4000    # The similarity seed's vocabulary (its CSLS neighbourhood: 10).
SELF_LEARNING = {"vocab": 8000, "keep_prob": 0.1, "patience": 10}
REFINE_TOL = 1e-3          # Refinement stops once the criterion gains less than this.


def initial_mapping(*, src_NxD, tgt_MxE, init, W_init=None, src_words=None, tgt_words=None):
  """The start of `unsupervised_map`: (W (D x E), number of seed pairs or None)."""
  if init not in INITS:
    raise ValueError(f"unknown init {init!r} (known: {', '.join(INITS)})")
  d, e = src_NxD.shape[1], tgt_MxE.shape[1]
  if init == "aae":
    if W_init is None:
      raise ValueError("init='aae' needs the adversarial autoencoder's mapping (W_init)")
    W = np.asarray(W_init, np.float32)
    if W.shape != (d, e):
      raise ValueError(f"W_init has shape {W.shape}, expected {(d, e)}")
    return W, None
  if init == "identity":
    return np.eye(d, e, dtype=np.float32), None
  if init == "similarity":
    pairs = similarity_init(src_NxD=src_NxD, tgt_MxE=tgt_MxE, vocab=SIMILARITY_VOCAB)
  else:  # identical, numerals
    if src_words is None or tgt_words is None:
      raise ValueError(f"init={init} needs src_words and tgt_words")
    pairs = anchor_pairs(src_words=src_words, tgt_words=tgt_words, vocab=ANCHOR_VOCAB, kind=init)
    if len(pairs) < 2:
      raise InputError(f"the {init} start needs words spelt the same in both vocabularies: "
                       f"they share {len(pairs)} among their {ANCHOR_VOCAB} most frequent "
                       "words")
  return procrustes(src_NxD[pairs[:, 0]], tgt_MxE[pairs[:, 1]]), int(len(pairs))


def unsupervised_map(*, src_NxD, tgt_MxE, init="identical", W_init=None, seed=0,
                     src_words=None, tgt_words=None, sl_max_iters=None, sl_time_budget_s=None,
                     refine_iters=10, refine_vocab=15000, criterion_vocab=10000, csls_k=10,
                     log_fn: Optional[Callable] = None):
  """A mapping W (D x E) from source to target space found without any dictionary.

  Args:
    src_NxD, tgt_MxE: normalised embeddings, rows in frequency order.
    init: the start (the default, `identical`, is the one that works on the real pairs
      measured in benchmarks/bench_unsupervised.py; `similarity` gives seed dictionaries at
      chance level there).
      `similarity`: VecMap's seed dictionary from the similarity-matrix structure, then its
        stochastic self-learning;
      `aae`: the mapping `W_init` (e.g. the adversarial autoencoder's);
      `identity`: the identity (semi-orthogonal D x E when D != E);
      `identical` / `numerals`: Procrustes on the word forms spelt the same in both
        vocabularies (all of them / digits only), which needs `src_words` and `tgt_words`.
    W_init: the starting mapping for `init="aae"`.
    seed: seeds the stochastic dictionary induction of self-learning (the other stages are
      deterministic).
    src_words, tgt_words: the vocabularies (frequency order), for the anchor inits.
    sl_max_iters, sl_time_budget_s: self-learning's iteration and time budgets (its other
      settings: `SELF_LEARNING`); `sl_max_iters=None` means 100 after the similarity seed and
      none after the other starts.
    refine_iters, refine_vocab: MUSE refinement (mutual CSLS + Procrustes) at the end, stopped
      early when the criterion gains less than `REFINE_TOL`.
    criterion_vocab, csls_k: the unsupervised criterion used to report and select.
    log_fn: receives one dict per logged event.

  Returns:
    (W, info): info records the init, the number of seed pairs, self-learning's iterations
    and objective, the unsupervised criterion after each stage and the seconds spent.
  """
  t0 = time.perf_counter()
  info = {"init": init, "seed": seed}

  def criterion(w):
    return unsupervised_criterion(src_mapped_NxE=_map(src_NxD[:criterion_vocab], w),
                                  tgt_MxE=tgt_MxE, vocab=criterion_vocab, csls_k=csls_k)

  W, seed_pairs = initial_mapping(src_NxD=src_NxD, tgt_MxE=tgt_MxE, init=init, W_init=W_init,
                                  src_words=src_words, tgt_words=tgt_words)
  if seed_pairs is not None:
    info["seed_pairs"] = seed_pairs
  info["init_seconds"] = time.perf_counter() - t0
  info["criterion_init"] = criterion(W)
  if log_fn:
    log_fn({"unsup/init_criterion": info["criterion_init"]})

  if sl_max_iters is None:
    sl_max_iters = 100 if init == "similarity" else 0
  if sl_max_iters:
    W, info["self_learning"] = self_learning(
        src_NxD=src_NxD, tgt_MxE=tgt_MxE, W=W, csls_k=csls_k, max_iters=sl_max_iters,
        time_budget_s=sl_time_budget_s, seed=seed, log_fn=log_fn, **SELF_LEARNING)
    info["criterion_self_learning"] = criterion(W)
  if refine_iters:
    W = refine(src_NxD=src_NxD, tgt_MxE=tgt_MxE, W=W, iters=refine_iters, vocab=refine_vocab,
               csls_k=csls_k, criterion_vocab=criterion_vocab, tol=REFINE_TOL, log_fn=log_fn)
  info["criterion"] = criterion(W)
  info["seconds"] = time.perf_counter() - t0
  return W, info
