r"""Times `clweadv.prepare`: a pair from nothing (or from what the data dir holds), then cached.

  python benchmarks/bench_prepare.py --pair=en-it --data_dir=/tmp/clweadv-bench
  python benchmarks/bench_prepare.py --offline   # parser/cleaner throughput on shipped excerpts

Prints one JSON line per measurement: wall seconds and CPU seconds of this process and its
children (CPU seconds / 2 approximates the wall time on an otherwise idle 2-core machine).
"""

import json
import os
import resource
import sys
import time

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import common  # pylint: disable=g-import-not-at-top
from clweadv import prepare as prepare_cli  # pylint: disable=g-import-not-at-top
from clweadv.data import corpora, freedict, prepare  # pylint: disable=g-import-not-at-top

prepare_cli.define_flags()  # --pair --source --dim --data_dir --max_vocab ...
flags.DEFINE_bool("offline", False, "Only the offline micro-benchmarks on shipped excerpts.")
flags.DEFINE_string("json_out", None, "Also write the rows to this JSON file.")
FLAGS = flags.FLAGS
ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "third_party")


def _cpu():
  own = resource.getrusage(resource.RUSAGE_SELF)
  kids = resource.getrusage(resource.RUSAGE_CHILDREN)
  return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


ROWS = []


def timed(name, fn, **extra):
  t, c = time.time(), _cpu()
  out = fn()
  ROWS.append({"bench": name, "wall_s": round(time.time() - t, 2),
               "cpu_s": round(_cpu() - c, 2), "load_avg_1m": os.getloadavg()[0], **extra})
  print(json.dumps(ROWS[-1]), flush=True)
  return out


def offline():
  pairs = timed("freedict_read_pairs_en_de",
                lambda: freedict.read_pairs(os.path.join(ROOT, "freedict", "en-de.txt")))
  print(json.dumps({"en_de_pairs": len(pairs)}))

  def clean():
    stats = {}
    with open(os.path.join(ROOT, "debian_descriptions", "Translation-it.excerpt"),
              encoding="utf-8") as f:
      for _ in corpora.clean_items(corpora.read_descriptions(f, "it"), lang="it",
                                   translated=True, seen=set(), stats=stats):
        pass
    return stats
  stats = timed("clean_descriptions_it_excerpt", clean)
  print(json.dumps({"stats": stats}))


def main(argv):
  del argv
  offline()
  if FLAGS.offline:
    return
  if not FLAGS.pair:
    raise app.UsageError("--pair is required unless --offline")
  kwargs = dict(pair=FLAGS.pair, source=FLAGS.source, dim=FLAGS.dim, data_dir=FLAGS.data_dir,
                max_vocab=FLAGS.max_vocab)
  timed("prepare_first_call", lambda: prepare.ensure_pair(**kwargs), pair=FLAGS.pair,
        source=FLAGS.source)
  timed("prepare_cached_call", lambda: prepare.ensure_pair(**kwargs), pair=FLAGS.pair,
        source=FLAGS.source)
  common.write_rows(FLAGS.json_out, ROWS)


if __name__ == "__main__":
  app.run(main)
