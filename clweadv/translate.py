r"""Translates words with a finished run's mapped spaces.

  python -m clweadv.translate --workdir=runs/en_fr_unsup water house [--k=10] [--retrieval=csls]

Reads `config.json`, `vectors-SRC.vec` and `vectors-TGT.vec` from the work dir (the exports are
already normalised and mapped), and prints the top-k target words with their scores.
"""

import os
import sys

import numpy as np

from absl import app, flags

from clweadv.embeddings import read_embeddings
from clweadv.errors import InputError, exit_on_input_error, parse_flags
from clweadv.fileio import read_run_config, warn_if_failed

FLAGS = flags.FLAGS


def define_flags():
  """The CLI's flags (defined only when run as a program: `clweadv.main` shares the names)."""
  flags.DEFINE_string("workdir", None, "Work dir of a finished `clweadv.main` run.")
  flags.DEFINE_integer("k", 10, "Translations per word.")
  flags.DEFINE_enum("retrieval", "csls", ["csls", "nn"], "CSLS (default) or cosine nearest "
                    "neighbours.")
  flags.DEFINE_integer("csls_k", 10, "Neighbourhood size of CSLS.")


def load_workdir(workdir):
  """(config dict, source Embeddings, target Embeddings) of a finished run's exports."""
  cfg = read_run_config(workdir)
  files = [os.path.join(workdir, f"vectors-{cfg[k]}.vec") for k in ("src_lang", "tgt_lang")]
  for p in files:
    if not os.path.isfile(p):
      raise InputError(f"{p}: missing; the run has not finished or ran with --export=false")
  out = [cfg]
  for p in files:
    print(f"loading {p}", file=sys.stderr, flush=True)  # A line of its own: an error follows it.
    out.append(read_embeddings(p))
  return tuple(out)


def translate(words, *, src, tgt, k=10, retrieval="csls", csls_k=10):
  """[(word, [(translation, score), ...] or None when the word is unknown)]."""
  # JAX is loaded only once there are words to translate: --help and flag errors answer at once.
  from clweadv.bli import retrieval as R  # pylint: disable=g-import-not-at-top
  found = [(w, src.index.get(w, src.index.get(w.lower()))) for w in words]
  rows = [i for _, i in found if i is not None]
  results = {}
  if rows:
    k = min(k, len(tgt))
    if retrieval == "csls":
      scores, ids, _ = R.csls_translate(src_mapped_NxE=src.vectors, tgt_MxE=tgt.vectors,
                                        query_ids=np.asarray(rows), k=k, csls_k=csls_k)
    else:
      scores, ids = R.topk_cosine(src.vectors[np.asarray(rows)], tgt.vectors, k=k)
    for r, s_row, i_row in zip(rows, np.asarray(scores), np.asarray(ids)):
      results[r] = [(tgt.words[i], float(s)) for s, i in zip(s_row, i_row)]
  return [(w, results[i] if i is not None else None) for w, i in found]


def main(argv):
  words = argv[1:]

  def run():
    if not words:
      raise InputError("give the words to translate, e.g. "
                       "python -m clweadv.translate --workdir=DIR water house")
    if FLAGS.k <= 0:
      raise InputError(f"--k={FLAGS.k}: must be > 0")
    cfg, src, tgt = load_workdir(FLAGS.workdir)
    warn_if_failed(FLAGS.workdir)
    for word, hits in translate(words, src=src, tgt=tgt, k=FLAGS.k, retrieval=FLAGS.retrieval,
                                csls_k=FLAGS.csls_k):
      if hits is None:
        print(f"{word}: not in the {cfg['src_lang']} vocabulary of this run "
              f"({len(src)} words)")
        continue
      print(f"{word} ({cfg['src_lang']} -> {cfg['tgt_lang']}, {FLAGS.retrieval}):")
      for rank, (t, s) in enumerate(hits, 1):
        print(f"  {rank:2d}. {t}\t{s:.4f}")
    sys.stdout.flush()

  exit_on_input_error(run)


if __name__ == "__main__":
  define_flags()
  app.run(main, flags_parser=parse_flags)
