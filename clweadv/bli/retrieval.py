"""Blocked nearest-neighbour and CSLS retrieval with bounded memory (and, at the end, the
stochastic CSLS pass of VecMap's self-learning).

Every similarity here is a cosine: query and key rows are L2-normalised *inside* these functions
(callers may pass raw vectors; a zero row stays zero and scores 0 against everything). The key
matrix is scanned in blocks of `block_size` rows, keeping a running top-k per query that is merged
with each block's scores through one `lax.top_k`; queries are processed `query_block_size` rows at
a time. Peak working memory is therefore about `query_block_size x (block_size + k)` scores,
never N x M. Results do not depend on either block size (ties go to the lower key index).

The jitted kernel is compiled once per (query block rows, keys shape, block size, k); repeated
calls with the same shapes reuse it, and the last, partial query block is handled by shifting it
back over already computed rows instead of padding, so it does not trigger a second compile.

CSLS (Conneau et al. 2018): CSLS(x, y) = 2 cos(x, y) - r_T(x) - r_S(y), where r_T(x) is the mean
cosine of the query x to its `csls_k` nearest target rows and r_S(y) the mean cosine of the
target y to its `csls_k` nearest (mapped) source rows, each over the *full* other vocabulary.

Example:
  >>> import numpy as np
  >>> x = np.eye(3, dtype=np.float32)
  >>> scores, ids = topk_cosine(x, x[::-1], k=1)
  >>> np.asarray(ids[:, 0]).tolist()
  [2, 1, 0]
"""

import functools
from typing import Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from clweadv import watchdog
from clweadv.normalize import unit_rows

DEFAULT_BLOCK_SIZE = 2048
DEFAULT_QUERY_BLOCK_SIZE = 512

Progress = Optional[Callable[[int, int], None]]


def _precision():
  # On CPU the default is full float32 (and the faster path here); accelerators default to
  # reduced-precision matmuls, which would reorder close neighbours.
  return None if jax.default_backend() == "cpu" else lax.Precision.HIGHEST


_GROUP = 16


def _block_candidates(scores_QxB, ids_B, *, k):
  """A block's scores narrowed to a superset of each row's top k, in increasing key order.

  Columns are cut into groups of `_GROUP`; the k groups with the largest maxima (lower group on
  ties) hold every element of the row's top k under the lower-index tie rule: each group ranked
  ahead of an element's group holds an element that beats it. A full `lax.top_k` over the
  block costs more than this max-reduction plus a top-k over the group maxima.
  """
  num_rows, block = scores_QxB.shape
  groups = block // _GROUP
  if block % _GROUP or groups <= k:
    return scores_QxB, jnp.broadcast_to(ids_B, scores_QxB.shape)
  grouped_QxGxS = scores_QxB.reshape(num_rows, groups, _GROUP)
  _, top_groups_QxK = lax.top_k(jnp.max(grouped_QxGxS, axis=2), k)
  top_groups_QxK = jnp.sort(top_groups_QxK, axis=1)
  cand_QxKxS = jnp.take_along_axis(grouped_QxGxS, top_groups_QxK[:, :, None], axis=1)
  ids_QxKxS = ids_B[0] + top_groups_QxK[:, :, None] * _GROUP + jnp.arange(_GROUP)
  return cand_QxKxS.reshape(num_rows, -1), ids_QxKxS.reshape(num_rows, -1).astype(jnp.int32)


@functools.partial(jax.jit, static_argnames=("k", "block_size"))
def _scan_topk(query_QxD, keys_MxD, bias_M, scale, *, k, block_size):
  """Top-k over all M keys of `scale * cos(q, key) - bias[key]`, one key block at a time.

  Blocks start at multiples of `block_size`; the last block is shifted back to end at row M and
  the rows it shares with the previous block are masked, so no padded copy of the keys is made.
  """
  num_keys = keys_MxD.shape[0]
  num_blocks = -(-num_keys // block_size)
  q_QxD = unit_rows(query_QxD)
  offsets_B = jnp.arange(block_size, dtype=jnp.int32)

  def body(carry, block):
    best_QxK, best_ids_QxK = carry
    nominal = block * block_size
    start = jnp.minimum(nominal, num_keys - block_size)
    keys_BxD = unit_rows(lax.dynamic_slice_in_dim(keys_MxD, start, block_size))
    bias_B = lax.dynamic_slice_in_dim(bias_M, start, block_size)
    ids_B = start + offsets_B
    scores_QxB = scale * jnp.dot(q_QxD, keys_BxD.T, precision=_precision()) - bias_B
    scores_QxB = jnp.where(ids_B < nominal, -jnp.inf, scores_QxB)
    cand_QxC, cand_ids_QxC = _block_candidates(scores_QxB, ids_B, k=k)
    # Running entries come first and have lower ids: lax.top_k keeps the first of equal values,
    # so ties always go to the lower key index, whatever the block size.
    all_scores = jnp.concatenate([best_QxK, cand_QxC], axis=1)
    all_ids = jnp.concatenate([best_ids_QxK, cand_ids_QxC], axis=1)
    top_QxK, pos_QxK = lax.top_k(all_scores, k)
    return (top_QxK, jnp.take_along_axis(all_ids, pos_QxK, axis=1)), None

  num_queries = query_QxD.shape[0]
  init = (jnp.full((num_queries, k), -jnp.inf, jnp.float32),
          jnp.full((num_queries, k), -1, jnp.int32))
  (top_QxK, ids_QxK), _ = lax.scan(body, init, jnp.arange(num_blocks, dtype=jnp.int32))
  return top_QxK, ids_QxK


@functools.lru_cache(maxsize=None)
def key_mesh():
  """The mesh over this process's devices that retrieval shards the keys over (None: 1 device).

  Each process uses its local devices only: every host of a multi-host run evaluates on its own.
  """
  devices = jax.local_devices()
  return Mesh(np.array(devices), ("keys",)) if len(devices) > 1 else None


@functools.lru_cache(maxsize=None)
def _sharded_scan_topk(mesh, *, k, k_local, block_size):
  """`_scan_topk` with the keys split into equal contiguous shards, one per device.

  Each device keeps the top `k_local` of its shard (key ids offset to global rows); one `lax.top_k`
  merges the device lists, concatenated in device order, so ties still go to the lower key
  index and the result equals the one-device scan.
  """
  def local(query_QxD, keys_SxD, bias_S, scale):
    top_QxK, ids_QxK = _scan_topk(query_QxD, keys_SxD, bias_S, scale, k=k_local,
                                  block_size=block_size)
    return top_QxK, ids_QxK + lax.axis_index("keys") * keys_SxD.shape[0]

  spec = PartitionSpec("keys")
  per_device = jax.shard_map(local, mesh=mesh, in_specs=(PartitionSpec(), spec, spec,
                                                         PartitionSpec()),
                             out_specs=PartitionSpec(None, "keys"), check_vma=False)

  @jax.jit
  def scan(query_QxD, keys_MxD, bias_M, scale):
    all_QxC, all_ids_QxC = per_device(query_QxD, keys_MxD, bias_M, scale)
    top_QxK, pos_QxK = lax.top_k(all_QxC, k)
    return top_QxK, jnp.take_along_axis(all_ids_QxC, pos_QxK, axis=1)
  return scan


def _shard_keys(keys_MxD, bias_M, mesh):
  """Pads the keys to a multiple of the device count (padding rows score -inf) and places one
  contiguous shard on each device."""
  num_devices = mesh.size
  pad = -keys_MxD.shape[0] % num_devices
  keys_MxD = jnp.pad(keys_MxD, ((0, pad), (0, 0)))
  bias_M = jnp.pad(bias_M, (0, pad), constant_values=jnp.inf)
  sharding = NamedSharding(mesh, PartitionSpec("keys"))
  return jax.device_put(keys_MxD, sharding), jax.device_put(bias_M, sharding)


def _as_device(x, name):
  x = jnp.asarray(x, dtype=jnp.float32)
  if x.ndim != 2:
    raise ValueError(f"{name} must be a 2-D matrix, got shape {x.shape}")
  return x


def _blocked_topk(query_NxD, keys_MxD, bias_M, *, scale, k, block_size, query_block_size,
                  progress):
  if query_NxD.ndim != 2:
    raise ValueError(f"query must be a 2-D matrix, got shape {query_NxD.shape}")
  keys_MxD = _as_device(keys_MxD, "keys")
  num_queries, num_keys = query_NxD.shape[0], keys_MxD.shape[0]
  if query_NxD.shape[1] != keys_MxD.shape[1]:
    raise ValueError(f"query dimension {query_NxD.shape[1]} != keys dimension "
                     f"{keys_MxD.shape[1]}")
  if not 1 <= k <= num_keys:
    raise ValueError(f"k={k} must be between 1 and the number of keys ({num_keys})")
  if block_size < 1 or query_block_size < 1:
    raise ValueError("block sizes must be positive")
  if num_queries == 0:
    return jnp.zeros((0, k), jnp.float32), jnp.zeros((0, k), jnp.int32)
  rows = min(query_block_size, num_queries)
  bias_M = jnp.asarray(bias_M, jnp.float32)
  scale = jnp.float32(scale)
  mesh = key_mesh()
  if mesh is None:
    block = min(block_size, num_keys)
    scan = functools.partial(_scan_topk, k=k, block_size=block)
  else:
    # The target vocabulary is split over the devices; queries are replicated.
    keys_MxD, bias_M = _shard_keys(keys_MxD, bias_M, mesh)
    shard = keys_MxD.shape[0] // mesh.size
    # A device keeps at most its shard's rows; the merged lists still hold >= M >= k entries.
    scan = _sharded_scan_topk(mesh, k=k, k_local=min(k, shard),
                              block_size=min(block_size, shard))
  scores, ids = [], []
  for start in range(0, num_queries, rows):
    # The last block is shifted back to end at row N (same shape, no recompile); only its new
    # rows are kept.
    begin = min(start, num_queries - rows)
    chunk = jnp.asarray(query_NxD[begin:begin + rows], jnp.float32)
    s, i = scan(chunk, keys_MxD, bias_M, scale)
    if mesh is not None or progress is not None:
      # Sharded: one scan in flight at a time. The scans share no data, so a runtime may start
      # them in different orders on different devices (XLA's CPU client does): each device then
      # waits in a different scan's all-gather and the process hangs.
      with watchdog.waiting(f"retrieving neighbours of queries {begin}-{begin + rows}",
                            devices=1 if mesh is None else mesh.size):
        jax.block_until_ready(s)
    skip = start - begin
    scores.append(s[skip:])
    ids.append(i[skip:])
    if progress is not None:
      progress(min(start + rows, num_queries), num_queries)
  if len(scores) == 1:
    return scores[0], ids[0]
  return jnp.concatenate(scores), jnp.concatenate(ids)


def topk_cosine(query_NxD, keys_MxD, *, k, block_size=DEFAULT_BLOCK_SIZE,
                query_block_size=DEFAULT_QUERY_BLOCK_SIZE, progress: Progress = None):
  """The k keys of highest cosine similarity to each query row.

  Args:
    query_NxD: queries (NumPy or JAX, any scale: rows are normalised inside).
    keys_MxD: keys (rows normalised inside).
    k: number of neighbours, 1 <= k <= M.
    block_size: key rows scored at a time.
    query_block_size: query rows scored at a time.
    progress: optional `callback(done_queries, total_queries)`.

  Returns:
    (scores_Nxk, indices_Nxk): cosines in decreasing order and the key row indices (int32).
  """
  bias_M = jnp.zeros((keys_MxD.shape[0],), jnp.float32)
  return _blocked_topk(query_NxD, keys_MxD, bias_M, scale=1.0, k=k, block_size=block_size,
                       query_block_size=query_block_size, progress=progress)


def mean_topk_similarity(query_NxD, keys_MxD, *, k=10, block_size=DEFAULT_BLOCK_SIZE,
                         query_block_size=DEFAULT_QUERY_BLOCK_SIZE, progress: Progress = None):
  """CSLS's neighbourhood term r: mean cosine of each query to its k nearest keys (all of M)."""
  scores_Nxk, _ = topk_cosine(query_NxD, keys_MxD, k=k, block_size=block_size,
                              query_block_size=query_block_size, progress=progress)
  return jnp.mean(scores_Nxk, axis=1)


def csls_topk(query_NxD, keys_MxD, *, k, r_query_N, r_keys_M, block_size=DEFAULT_BLOCK_SIZE,
              query_block_size=DEFAULT_QUERY_BLOCK_SIZE, progress: Progress = None):
  """The k keys of highest CSLS(x, y) = 2 cos(x, y) - r_query(x) - r_keys(y) for each query.

  `r_query_N` is `mean_topk_similarity(query, all keys)` and `r_keys_M` is
  `mean_topk_similarity(keys, all queries of that language)` (see `csls_translate`).

  Returns:
    (scores_Nxk, indices_Nxk): CSLS scores in decreasing order and key row indices (int32).
  """
  r_keys_M = jnp.asarray(r_keys_M, jnp.float32)
  if r_keys_M.shape != (keys_MxD.shape[0],):
    raise ValueError(f"r_keys_M has shape {r_keys_M.shape}, expected ({keys_MxD.shape[0]},)")
  r_query_N = jnp.asarray(r_query_N, jnp.float32)
  if r_query_N.shape != (query_NxD.shape[0],):
    raise ValueError(f"r_query_N has shape {r_query_N.shape}, expected ({query_NxD.shape[0]},)")
  scores_Nxk, ids_Nxk = _blocked_topk(
      query_NxD, keys_MxD, r_keys_M, scale=2.0, k=k, block_size=block_size,
      query_block_size=query_block_size, progress=progress)
  return scores_Nxk - r_query_N[:, None], ids_Nxk


def csls_translate(*, src_mapped_NxE, tgt_MxE, query_ids=None, k=1, csls_k=10,
                   block_size=DEFAULT_BLOCK_SIZE, query_block_size=DEFAULT_QUERY_BLOCK_SIZE,
                   progress: Progress = None, r_tgt_M=None, scores=True):
  """CSLS source-to-target retrieval for the source rows `query_ids` (default: all rows).

  r_T is computed for the queries over all M target rows, r_S for every target row over all N
  source rows (the full source matrix, not only the queries). Pass `r_tgt_M` (r_S of the
  targets, as returned in the third value) to reuse it across calls with the same matrices.
  A query's own r_T does not change which targets it ranks first: with `scores=False` it is
  not computed (a third of the work when the r_S are given) and no scores are returned.

  Returns:
    (scores_Qxk or None, indices_Qxk, r_tgt_M).
  """
  query_QxD = (src_mapped_NxE if query_ids is None
               else jnp.asarray(src_mapped_NxE)[jnp.asarray(query_ids)])
  if r_tgt_M is None:
    r_tgt_M = mean_topk_similarity(tgt_MxE, src_mapped_NxE, k=csls_k, block_size=block_size,
                                   query_block_size=query_block_size, progress=progress)
  if not scores:
    _, ids = csls_topk(query_QxD, tgt_MxE, k=k, r_query_N=jnp.zeros(query_QxD.shape[0]),
                       r_keys_M=r_tgt_M, block_size=block_size,
                       query_block_size=query_block_size)
    return None, ids, r_tgt_M
  r_query_Q = mean_topk_similarity(query_QxD, tgt_MxE, k=csls_k, block_size=block_size,
                                   query_block_size=query_block_size)
  scores, ids = csls_topk(query_QxD, tgt_MxE, k=k, r_query_N=r_query_Q, r_keys_M=r_tgt_M,
                          block_size=block_size, query_block_size=query_block_size)
  return scores, ids, r_tgt_M


# --------------------------------------------------------------------------------------------
# CSLS with stochastic dropout of the similarities, for VecMap's self-learning
# (`refine.self_learning`). Its working vocabularies stay small (a few thousand to 20k rows), so
# a block of query rows is scored against all keys at once, giving the three things one
# iteration needs in one pass; the exact, bounded-memory search above serves everything else.

_DROPOUT_BLOCK = 2048


@functools.partial(jax.jit, static_argnames=("k",))
def _block_pass(query_BxD, keys_MxD, r_keys_M, key, keep_prob, *, k):
  """One block of queries against all keys: (CSLS argmax under dropout, CSLS max without
  dropout, r of the queries)."""
  sims = query_BxD @ keys_MxD.T
  # `mean_topk_similarity`'s r, taken from the similarities this pass holds anyway (a separate
  # blocked pass made self-learning ~8% slower).
  r_query = jax.lax.top_k(sims, k)[0].mean(axis=1)
  csls = sims - 0.5 * r_keys_M[None, :]
  best = csls.max(axis=1)
  threshold = jnp.round(keep_prob * 256.0)
  keep = jax.random.bits(key, sims.shape, jnp.uint8).astype(jnp.float32) < threshold
  keep = keep | (keep_prob >= 1.0)
  idx = jnp.argmax(jnp.where(keep, csls, -jnp.inf), axis=1)
  return idx, best, r_query


def _pad_rows(x, rows):
  if x.shape[0] == rows:
    return x
  return np.concatenate([x, np.zeros((rows - x.shape[0], x.shape[1]), x.dtype)])


def _blocked(fn, query_NxD, *args, block=_DROPOUT_BLOCK):
  """Runs `fn(block_rows, *args)` over blocks of `block` query rows (the last one padded, so
  one compilation serves every block) and concatenates each output."""
  n = query_NxD.shape[0]
  rows = min(block, n)
  outs = []
  for start in range(0, n, rows):
    chunk = _pad_rows(query_NxD[start:start + rows], rows)
    res = fn(jnp.asarray(chunk), *args, start)
    res = res if isinstance(res, tuple) else (res,)
    outs.append([np.asarray(r)[:min(rows, n - start)] for r in res])
  return tuple(np.concatenate(parts) for parts in zip(*outs))


def stochastic_csls_argmax(query_NxD, keys_MxD, *, r_keys_M, k, keep_prob, rng_key):
  """For unit rows: (argmax CSLS key when each similarity is kept with probability
  `keep_prob`, best CSLS score without dropout, r of the queries over their `k` nearest keys).

  Scores are cos - r_keys / 2 (the query's own r does not change its argmax), as VecMap."""
  keys = jnp.asarray(keys_MxD)
  r_keys = jnp.asarray(r_keys_M, jnp.float32)
  k = min(k, keys.shape[0])
  kp = jnp.float32(keep_prob)

  def fn(b, start):
    return _block_pass(b, keys, r_keys, jax.random.fold_in(rng_key, start), kp, k=k)

  return _blocked(fn, query_NxD)
