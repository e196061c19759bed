"""Evaluation of a mapping: bilingual lexicon induction (BLI), MUSE's unsupervised criterion,
output diversity, and the paper's table of nearest neighbours.

Every function takes the *mapped* source matrix (rows in frequency order) and the target matrix;
rows need not be normalised (retrieval works on cosines). Retrieval is blocked, see
`clweadv.bli.retrieval`.

CSLS needs r_S(y) for every target row y: the mean cosine of y to its `csls_k` nearest mapped
source rows over the full source matrix, an N x M computation. `bli` and `mean_cosine_criterion`
both accept it as `r_tgt_M` (compute it once with
`retrieval.mean_topk_similarity(tgt_MxE, src_mapped_NxE, k=csls_k)`) so that an evaluation pass
that calls both pays for it once.
"""

import numpy as np
import jax.numpy as jnp

from clweadv.bli import retrieval
from clweadv.normalize import unit_rows

METHODS = ("nn", "csls")
DEFAULT_WORDS = ("computer", "rain", "comics", "anime", "France")


def precision_at_k(*, topk_ids_QxK, gold_QxG, ks):
  """Percentage of queries with any gold id (-1 = padding) among their first k ids, per k."""
  topk_ids_QxK = np.asarray(topk_ids_QxK)
  hit_QxK = (topk_ids_QxK[:, :, None] == gold_QxG[:, None, :]).any(axis=2)
  first_hit_Q = np.where(hit_QxK.any(axis=1), hit_QxK.argmax(axis=1), np.iinfo(np.int32).max)
  return {k: 100.0 * float(np.mean(first_hit_Q < k)) for k in ks}


def bli(*, src_mapped_NxE, tgt_MxE, dictionary, methods=METHODS, ks=(1, 5, 10), csls_k=10,
        block_size=retrieval.DEFAULT_BLOCK_SIZE, r_tgt_M=None, progress=None):
  """Bilingual lexicon induction: P@k for NN and CSLS retrieval over the full target matrix.

  Args:
    src_mapped_NxE: mapped source vectors (all source rows: r_S is computed over all of them).
    tgt_MxE: target vectors (the full target vocabulary is searched).
    dictionary: a `clweadv.dictionary.Dictionary` read against these two vocabularies.
    methods: any of "nn", "csls"; a method left out is reported as None.
    ks: the k of each P@k.
    csls_k: neighbourhood size of CSLS's r terms.
    block_size: key rows scored at a time.
    r_tgt_M: r_S of the targets, if already computed (see the module docstring).
    progress: optional callback(done, total) for the r_S pass.

  Returns:
    `{"dictionary": name, "queries": Q, "coverage": pct, "nn": {"p@1": pct, ...} | None,
    "csls": {...} | None}`, numbers in percent (0-100). A query is right when any of its gold
    targets is among its k best.
  """
  unknown = set(methods) - set(METHODS)
  if unknown:
    raise ValueError(f"unknown retrieval methods {sorted(unknown)}; expected {METHODS}")
  kmax = max(ks)
  if (dictionary.src_ids.max() >= src_mapped_NxE.shape[0]
      or max(g.max() for g in dictionary.gold_ids) >= tgt_MxE.shape[0]):
    raise ValueError(f"{dictionary.name} was read against larger vocabularies than these "
                     f"matrices ({src_mapped_NxE.shape[0]} x {tgt_MxE.shape[0]} rows)")
  src_mapped_NxE = jnp.asarray(src_mapped_NxE, jnp.float32)
  tgt_MxE = jnp.asarray(tgt_MxE, jnp.float32)
  query_QxD = src_mapped_NxE[jnp.asarray(dictionary.src_ids)]
  gold_QxG = dictionary.gold_matrix()
  out = {"dictionary": dictionary.name, "queries": dictionary.num_queries,
         "coverage": round(dictionary.coverage, 4), "nn": None, "csls": None}

  def block(ids):
    return {f"p@{k}": round(p, 4)
            for k, p in precision_at_k(topk_ids_QxK=ids, gold_QxG=gold_QxG, ks=ks).items()}

  if "nn" in methods:
    _, ids = retrieval.topk_cosine(query_QxD, tgt_MxE, k=kmax, block_size=block_size)
    out["nn"] = block(ids)
  if "csls" in methods:
    _, ids, _ = retrieval.csls_translate(
        src_mapped_NxE=src_mapped_NxE, tgt_MxE=tgt_MxE, query_ids=dictionary.src_ids, k=kmax,
        csls_k=csls_k, block_size=block_size, progress=progress, r_tgt_M=r_tgt_M, scores=False)
    out["csls"] = block(ids)
  return out


def mean_cosine_criterion(*, src_mapped_NxE, tgt_MxE, top_n=10000, csls_k=10,
                          block_size=retrieval.DEFAULT_BLOCK_SIZE, r_tgt_M=None):
  """MUSE's unsupervised model-selection criterion (higher is better).

  The `top_n` most frequent source words (the first rows) are translated by CSLS over the full
  target matrix (r terms over the full other matrix); as in MUSE, pairs whose translation is not
  among the `top_n` most frequent target words are dropped, and the result is the mean cosine of
  the remaining (mapped source, target) pairs. 0.0 when no pair remains. Pass smaller matrices
  to bound the cost: r_S is an (all targets x all sources) computation.
  """
  src_mapped_NxE = jnp.asarray(src_mapped_NxE, jnp.float32)
  tgt_MxE = jnp.asarray(tgt_MxE, jnp.float32)
  n = min(top_n, src_mapped_NxE.shape[0])
  _, ids_Qx1, _ = retrieval.csls_translate(
      src_mapped_NxE=src_mapped_NxE, tgt_MxE=tgt_MxE, query_ids=np.arange(n), k=1, csls_k=csls_k,
      block_size=block_size, r_tgt_M=r_tgt_M, scores=False)
  tgt_ids = np.asarray(ids_Qx1[:, 0])
  keep = tgt_ids < top_n
  if not keep.any():
    return 0.0
  src_QxD = unit_rows(src_mapped_NxE[:n][keep])
  tgt_QxD = unit_rows(tgt_MxE[tgt_ids[keep]])
  return float(jnp.mean(jnp.sum(src_QxD * tgt_QxD, axis=1)))


def diversity(*, mapped_NxE, top_n=10000):
  """Mean pairwise cosine (over pairs i != j) of the first `top_n` mapped rows.

  Near 1: the mapping collapsed onto one direction (the GAN failure the paper reports). Exact
  and without an N x N matrix: sum_{i != j} u_i.u_j = |sum_i u_i|^2 - sum_i |u_i|^2 for unit
  rows u_i (zero rows count as zero vectors).
  """
  unit_NxD = np.asarray(unit_rows(np.asarray(mapped_NxE[:top_n])), np.float64)
  n = unit_NxD.shape[0]
  if n < 2:
    raise ValueError("diversity needs at least two rows")
  total_D = unit_NxD.sum(axis=0)
  self_sim = float(np.sum(unit_NxD * unit_NxD))
  return float((total_D @ total_D - self_sim) / (n * (n - 1)))


def _lookup(word, index):
  if word in index:
    return index[word]
  return index.get(word.lower())


def _cell(word):
  return word.replace("|", "\\|")


def neighbours(*, words, src_index, src_mapped_NxE, tgt_words, tgt_MxE, k=10):
  """The k nearest target words (cosine) of each mapped source word, None if not in vocabulary.

  A word is looked up as given, then lowercased. Returns a list of (word, [target words] | None).
  """
  rows = [_lookup(w, src_index) for w in words]
  present = [r for r in rows if r is not None]
  result = {}
  if present:
    query = jnp.asarray(src_mapped_NxE)[jnp.asarray(present)]
    _, ids = retrieval.topk_cosine(query, tgt_MxE, k=min(k, len(tgt_words)))
    for r, row_ids in zip(present, np.asarray(ids)):
      result[r] = [tgt_words[i] for i in row_ids]
  return [(w, result[r] if r is not None else None) for w, r in zip(words, rows)]


def neighbours_table(*, words=DEFAULT_WORDS, src_index, src_mapped_NxE, tgt_words, tgt_MxE,
                     k=10):
  """The paper's qualitative table as markdown: one row per source word, its k nearest target
  words by cosine in rank order; a word missing from the source vocabulary (as given, then
  lowercased) reads "(not in vocabulary)"."""
  found = neighbours(words=words, src_index=src_index, src_mapped_NxE=src_mapped_NxE,
                     tgt_words=tgt_words, tgt_MxE=tgt_MxE, k=k)
  k = min(k, len(tgt_words))
  lines = ["| word | " + " | ".join(str(i) for i in range(1, k + 1)) + " |",
           "|---" * (k + 1) + "|"]
  for word, near in found:
    cells = [_cell(w) for w in near] if near is not None else ["(not in vocabulary)"] + [""] * (
        k - 1)
    lines.append(f"| {_cell(word)} | " + " | ".join(cells) + " |")
  return "\n".join(lines) + "\n"


def format_bli_table(block, *, title=None):
  """A small plain-text table of a `bli` block, for the terminal."""
  ks = sorted({key for m in METHODS if block[m] for key in block[m]},
              key=lambda s: int(s.split("@")[1]))
  head = title or block["dictionary"]
  lines = [f"{head}: {block['queries']} queries, coverage {block['coverage']:.1f}%",
           f"{'method':<8}" + "".join(f"{k:>9}" for k in ks)]
  for m in METHODS:
    if block[m] is not None:
      lines.append(f"{m:<8}" + "".join(f"{block[m][k]:>9.2f}" for k in ks))
  return "\n".join(lines)
