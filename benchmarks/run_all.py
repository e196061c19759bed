r"""The benchmark figures README.md and docs/ quote, in one command, as one Markdown table with
the machine.

  python benchmarks/run_all.py [--only=train,prepare,retrieval,experiments,large_vocab] \
      [--out=benchmarks/RESULTS.md]

Runs, each in its own process:
- train: `bench_train.py` (steps/s, d=100 and d=300, 1 and 100 steps per jitted call);
- prepare: `bench_prepare.py --pair=en-it` into a fresh data dir (the whole download, corpus
  building and word2vec training), then the cached call;
- retrieval: `bench_retrieval.py` (NN and CSLS BLI at 50k and 200k words, extra memory);
- experiments: the commands `python -m clweadv.main --flagfile=experiments/en_it.flags`
  (the faithful adversarial autoencoder) and `experiments/en_fr_unsup.flags` (the dictionary-free
  default), wall time, peak memory and CSLS P@1 (data prepared first, not timed here);
- large_vocab: `bench_large_vocab.py` (the 400,000-word GloVe table, peak memory).

The whole set takes about 25 minutes on a quiet 2-core machine; `--only` picks a subset. The
table goes to stdout and to `--out`.
"""

import json
import os
import sys
import tempfile
import time

from absl import app, flags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks import common  # pylint: disable=g-import-not-at-top

PARTS = ("train", "prepare", "retrieval", "experiments", "large_vocab")
flags.DEFINE_list("only", list(PARTS), f"Parts to run, any of {', '.join(PARTS)}.")
flags.DEFINE_string("out", None, "Also write the Markdown table to this file.")
flags.DEFINE_string("scratch", os.path.join(tempfile.gettempdir(), "clweadv_bench_all"),
                    "Work dirs, fresh data dir and JSON rows (replaced).")
FLAGS = flags.FLAGS


def _bench(script, *args):
  """Runs benchmarks/SCRIPT with --json_out; returns its rows."""
  out = os.path.join(FLAGS.scratch, script.replace(".py", ".json"))
  common.run_measured(script, [sys.executable, os.path.join(ROOT, "benchmarks", script),
                               f"--json_out={out}", *args], cwd=ROOT)
  with open(out, encoding="utf-8") as f:
    return json.load(f)


def train():
  cmd = "python benchmarks/bench_train.py"
  return [(f"train steps/s, d={r['d']}, k=40, T=10, batch 128+128, {r['steps_per_call']} "
           f"step(s) per call", f"{r['steps_per_s']:.0f}", cmd)
          for r in _bench("bench_train.py")]


def prepare():
  data_dir = os.path.join(FLAGS.scratch, "data")
  common.fresh_dir(data_dir)  # "From nothing": a data dir left by an earlier run would be reused.
  cmd = f"python benchmarks/bench_prepare.py --pair=en-it --data_dir={data_dir}"
  rows = {r["bench"]: r for r in _bench("bench_prepare.py", "--pair=en-it",
                                         f"--data_dir={data_dir}")}
  return [("prepare en-it from nothing (s)", f"{rows['prepare_first_call']['wall_s']:.0f}", cmd),
          ("prepare en-it, cached (s)", f"{rows['prepare_cached_call']['wall_s']:.2f}", cmd)]


def retrieval():
  cmd = "python benchmarks/bench_retrieval.py"
  out = []
  for r in _bench("bench_retrieval.py"):
    v = f"{r['size']:,} x {r['size']:,}, d={r['dim']}, {r['queries']} queries"
    out += [(f"CSLS BLI (s), {v}", f"{r['csls_s']:.1f}", cmd),
            (f"NN BLI (s), {v}", f"{r['nn_s']:.1f}", cmd),
            (f"retrieval extra memory (MB), {v}", f"{r['extra_mb']:.0f}", cmd)]
  return out


def experiments():
  out = []
  for flagfile in ("en_it.flags", "en_fr_unsup.flags"):
    # Data first (cached after the first time), so that the timing is the experiment alone.
    pair = "en-it" if flagfile.startswith("en_it") else "en-fr"
    common.run_measured("prepare", [sys.executable, "-m", "clweadv.prepare", f"--pair={pair}"],
                        cwd=ROOT)
    workdir = os.path.join(FLAGS.scratch, flagfile.replace(".flags", ""))
    common.fresh_dir(workdir)
    cmd = f"python -m clweadv.main --flagfile=experiments/{flagfile}"
    row = common.run_measured(flagfile, [sys.executable, "-m", "clweadv.main",
                                         f"--flagfile=experiments/{flagfile}",
                                         f"--workdir={workdir}"], cwd=ROOT)
    with open(os.path.join(workdir, "results.json"), encoding="utf-8") as f:
      p1 = json.load(f)["bli"]["csls"]["p@1"]
    out += [(f"{flagfile}: whole experiment (s)", f"{row['wall_s']:.0f}", cmd),
            (f"{flagfile}: peak memory (MB)", f"{row['peak_rss_mb']:.0f}", cmd),
            (f"{flagfile}: CSLS P@1", f"{p1}", cmd)]
  return out


def large_vocab():
  cmd = "python benchmarks/bench_large_vocab.py"
  rows = {r["name"]: r for r in _bench("bench_large_vocab.py",
                                       f"--workdir={os.path.join(FLAGS.scratch, 'large')}")}
  e = rows["experiment"]
  v = f"{e['src_words']:,} en (GloVe) x {e['tgt_words']:,} fr words"
  return [(f"400k vocabulary, map + refine + evaluate + export (s), {v}", f"{e['wall_s']:.0f}",
           cmd),
          (f"400k vocabulary, peak memory (MB), {v}", f"{e['peak_rss_mb']:.0f}", cmd),
          (f"400k vocabulary, CSLS P@1, {v}", f"{e['csls_p@1']}", cmd)]


def main(argv):
  del argv
  unknown = set(FLAGS.only) - set(PARTS)
  if unknown:
    raise app.UsageError(f"--only: unknown parts {sorted(unknown)}; known: {', '.join(PARTS)}")
  os.makedirs(FLAGS.scratch, exist_ok=True)
  header = common.machine()
  rows = []
  for part in PARTS:
    if part in FLAGS.only:
      rows += globals()[part]()
  lines = ["# Benchmark results", "",
           f"Written by `python benchmarks/run_all.py` on {time.strftime('%Y-%m-%d')}; wall "
           "times depend on the machine and its load.", "",
           f"Machine: {header}", "", "| figure | value | command |", "|---|---|---|"]
  lines += [f"| {name} | {value} | `{cmd}` |" for name, value, cmd in rows]
  text = "\n".join(lines) + "\n"
  print(text)
  if FLAGS.out:
    with open(FLAGS.out, "w", encoding="utf-8") as f:
      f.write(text)


if __name__ == "__main__":
  app.run(main)
