r"""Bilingual lexicon induction on any pair of (already mapped) embedding spaces.

  python -m clweadv.evaluate --src_emb=A.vec --tgt_emb=B.vec --dictionary=D.txt \
      [--mapping=W.npy] [--retrieval=nn,csls] [--output=out.json] [--max_vocab=N] [--reverse]

Prints P@1/5/10 for each retrieval method and, with --output, writes
`{"src_emb": ..., "tgt_emb": ..., "mapping": ..., "bli": {...}}` (plus "bli_reverse" with
--reverse), the `bli` block having the same shape as in a run's results.json.
"""


import numpy as np
from absl import app, flags

from clweadv.dictionary import read_dictionary
from clweadv.embeddings import read_embeddings
from clweadv.errors import InputError, exit_on_input_error, parse_flags, reject_arguments
from clweadv.fileio import write_json
from clweadv.progress import Progress

FLAGS = flags.FLAGS


def define_flags():
  """The CLI's flags (defined only when run as a program: `clweadv.main` shares the names)."""
  flags.DEFINE_string("src_emb", None, "Source embeddings (.vec text or word2vec .bin).")
  flags.DEFINE_string("tgt_emb", None, "Target embeddings, same formats.")
  flags.DEFINE_string("dictionary", None,
                      "MUSE-style test dictionary: one 'source target' per line.")
  flags.DEFINE_string("mapping", None,
                      "Optional (d_src x d_tgt) .npy matrix W; the source is mapped as src @ W.")
  flags.DEFINE_list("retrieval", ["nn", "csls"], "Retrieval methods: any of nn, csls.")
  flags.DEFINE_string("output", None, "Optional JSON file for the results (written atomically).")
  flags.DEFINE_integer("max_vocab", 200000, "Keep the first N words of each space (0 = all).")
  flags.DEFINE_boolean("reverse", False,
                       "Also evaluate target -> source (queries from the dictionary's 2nd column).")
  flags.DEFINE_integer("csls_k", 10, "Neighbourhood size of CSLS.")
  flags.DEFINE_list("ks", ["1", "5", "10"], "The k of each reported P@k.")
  flags.DEFINE_integer("block_size", 2048, "Key rows scored at a time (memory vs speed).")


def _check_flags():
  # evaluation loads JAX: imported after --help has answered.
  from clweadv.bli.evaluation import METHODS  # pylint: disable=g-import-not-at-top
  for name in ("src_emb", "tgt_emb", "dictionary"):
    if not FLAGS[name].value:
      raise InputError(f"--{name} is required")
  methods = tuple(m.strip().lower() for m in FLAGS.retrieval if m.strip())
  bad = [m for m in methods if m not in METHODS]
  if bad or not methods:
    raise InputError(f"--retrieval: expected a comma-separated subset of {','.join(METHODS)}, "
                     f"got {','.join(FLAGS.retrieval)!r}")
  try:
    ks = tuple(sorted({int(k) for k in FLAGS.ks}))
  except ValueError:
    raise InputError(f"--ks: expected integers, got {','.join(FLAGS.ks)!r}")
  if not ks or ks[0] < 1:
    raise InputError("--ks: every k must be at least 1")
  for name in ("max_vocab",):
    if FLAGS[name].value < 0:
      raise InputError(f"--{name} must be >= 0")
  for name in ("csls_k", "block_size"):
    if FLAGS[name].value < 1:
      raise InputError(f"--{name} must be >= 1")
  return methods, ks


def load_mapping(path, *, src_dim, tgt_dim):
  """Loads a (src_dim x tgt_dim) float matrix from .npy; every problem names --mapping."""
  try:
    w = np.load(path, allow_pickle=False)
  except FileNotFoundError:
    raise InputError(f"--mapping={path}: no such file")
  except (ValueError, OSError) as e:
    raise InputError(f"--mapping={path}: not a readable .npy array ({str(e).splitlines()[0]})")
  if w.ndim != 2 or w.shape != (src_dim, tgt_dim):
    raise InputError(f"--mapping={path}: shape {w.shape} does not match the embeddings, "
                     f"expected ({src_dim}, {tgt_dim}) (--src_emb dim x --tgt_emb dim)")
  if not np.issubdtype(w.dtype, np.number) or not np.all(np.isfinite(w)):
    raise InputError(f"--mapping={path}: not a finite numeric matrix")
  return w.astype(np.float32)


def run():
  methods, ks = _check_flags()
  # JAX is loaded after the flag checks: --help and a bad flag answer at once.
  from clweadv.bli import evaluation, retrieval  # pylint: disable=g-import-not-at-top

  src = read_embeddings(FLAGS.src_emb, max_vocab=FLAGS.max_vocab)
  tgt = read_embeddings(FLAGS.tgt_emb, max_vocab=FLAGS.max_vocab)
  src_vectors = src.vectors
  if FLAGS.mapping:
    src_vectors = src.vectors @ load_mapping(FLAGS.mapping, src_dim=src.dim, tgt_dim=tgt.dim)
  elif src.dim != tgt.dim:
    raise InputError(f"--src_emb has dimension {src.dim} but --tgt_emb has {tgt.dim}: give a "
                     f"--mapping of shape ({src.dim}, {tgt.dim})")
  for name, emb in (("src_emb", src), ("tgt_emb", tgt)):
    if len(emb) < max(max(ks), FLAGS.csls_k):
      raise InputError(f"--{name}: only {len(emb)} words, fewer than k")

  directions = [("bli", src.index, tgt.index, src_vectors, tgt.vectors, False)]
  if FLAGS.reverse:
    directions.append(("bli_reverse", tgt.index, src.index, tgt.vectors, src_vectors, True))
  out = {"src_emb": FLAGS.src_emb, "tgt_emb": FLAGS.tgt_emb, "mapping": FLAGS.mapping}
  for key, q_index, k_index, q_vectors, k_vectors, reverse in directions:
    dico = read_dictionary(FLAGS.dictionary, src_index=q_index, tgt_index=k_index,
                           reverse=reverse)
    progress = None
    if "csls" in methods:
      progress = Progress(f"CSLS r_S over {len(k_vectors)} targets: queries")
    block = evaluation.bli(src_mapped_NxE=q_vectors, tgt_MxE=k_vectors, dictionary=dico,
                           methods=methods, ks=ks, csls_k=FLAGS.csls_k,
                           block_size=FLAGS.block_size, progress=progress)
    out[key] = block
    title = f"{dico.name} ({'target -> source' if reverse else 'source -> target'})"
    print(evaluation.format_bli_table(block, title=title), flush=True)
  if FLAGS.output:
    write_json(FLAGS.output, out)
  return 0


def main(argv):
  reject_arguments(argv)
  exit_on_input_error(run)


if __name__ == "__main__":
  define_flags()
  app.run(main, flags_parser=parse_flags)
