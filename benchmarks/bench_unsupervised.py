"""Unsupervised mapping over several seeds, beside the supervised Procrustes ceiling.

For each pair (a manifest written by `python -m clweadv.prepare`) and direction, each method in
`--methods` runs `clweadv.refine.unsupervised_map` once per seed; no dictionary is read until the
mapping is fixed. Then the test dictionary scores it (CSLS and NN P@1 over the full target
vocabulary). A seed succeeds when its CSLS P@1 is at least `--success_p1`. The table gives, per
method and pair: success rate, mean and spread (sample standard deviation) of CSLS P@1, NN P@1,
the ratio to supervised Procrustes (fitted on the train dictionary, same normalisation and test
dictionary), the unsupervised criterion and the time (wall and CPU seconds: the machine is
shared, CPU time is the steadier number).

  python benchmarks/bench_unsupervised.py \\
      --manifests=~/.cache/clweadv/pairs/en-fr.pretrained/manifest.json \\
      --methods=identical,numerals,similarity --seeds=5 --out=/tmp/bench_unsup.json

Deterministic methods (every stage but self-learning is deterministic: `identical`, `numerals`)
give the same mapping for every seed; with `--repeat_deterministic=false` they run once and the
row says so, instead of spending four more runs to show it.
"""

import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from absl import app, flags  # pylint: disable=g-import-not-at-top

from clweadv import refine
from clweadv.bli import evaluation, retrieval
from clweadv.dictionary import read_dictionary
from clweadv.embeddings import read_embeddings
from clweadv.errors import InputError, exit_on_input_error
from clweadv.fileio import write_json
from clweadv.normalize import normalize, parse_steps

FLAGS = flags.FLAGS
flags.DEFINE_list("manifests", [], "manifest.json files of prepared pairs.")
flags.DEFINE_enum("directions", "forward", ["forward", "both"],
                  "both: also map target -> source (the dictionaries read reversed).")
flags.DEFINE_list("methods", ["identical", "numerals", "similarity"],
                  f"unsupervised_map inits: {', '.join(refine.INITS)}.")
flags.DEFINE_integer("seeds", 5, "Seeds per method.")
flags.DEFINE_boolean("repeat_deterministic", False,
                     "Run deterministic methods once per seed anyway.")
flags.DEFINE_string("normalize", "unit,center,unit", "Normalisation of both spaces.")
flags.DEFINE_integer("max_vocab", 50000, "Rows read from each embedding file.")
flags.DEFINE_float("success_p1", 5.0, "A seed succeeds when its CSLS P@1 reaches this.")
flags.DEFINE_integer("refine_iters", 10, "Refinement iterations (early stop on the criterion).")
flags.DEFINE_integer("sl_max_iters", 100, "Self-learning iterations after the similarity init.")
flags.DEFINE_float("sl_time_budget_s", 300.0, "Self-learning wall-clock budget per run.")
flags.DEFINE_string("out", "", "Write every run and the summary as JSON here (atomically).")

DETERMINISTIC = ("identical", "numerals", "identity")


def log(msg):
  print(msg, file=sys.stderr, flush=True)


def _clock():
  return time.perf_counter(), time.process_time()


def _since(t):
  return round(time.perf_counter() - t[0], 1), round(time.process_time() - t[1], 1)


def load_direction(manifest_path, reverse, steps, max_vocab):
  path = os.path.expanduser(manifest_path)
  if not os.path.isfile(path):
    raise InputError(f"{manifest_path}: no such manifest (run python -m clweadv.prepare)")
  with open(path, encoding="utf-8") as f:
    m = json.load(f)
  src = read_embeddings(m["src_emb"], max_vocab=max_vocab)
  tgt = read_embeddings(m["tgt_emb"], max_vocab=max_vocab)
  name = f"{m['src_lang']}-{m['tgt_lang']} {m['source']}"
  if reverse:
    src, tgt = tgt, src
    name = f"{m['tgt_lang']}-{m['src_lang']} {m['source']}"
  dicts = {k: read_dictionary(m[f"{k}_dictionary"], src_index=src.index, tgt_index=tgt.index,
                              reverse=reverse, quiet=True) for k in ("train", "test")}
  return {"name": name, "src": src, "tgt": tgt, "x": normalize(src.vectors, steps=steps),
          "z": normalize(tgt.vectors, steps=steps), "dicts": dicts}


def score(d, W):
  mapped = d["x"] @ W
  r = retrieval.mean_topk_similarity(d["z"], mapped, k=10)
  bli = evaluation.bli(src_mapped_NxE=mapped, tgt_MxE=d["z"], dictionary=d["dicts"]["test"],
                       ks=(1, 10), r_tgt_M=r)
  crit = refine.unsupervised_criterion(src_mapped_NxE=mapped, tgt_MxE=d["z"])
  return {"csls_p1": bli["csls"]["p@1"], "nn_p1": bli["nn"]["p@1"],
          "csls_p10": bli["csls"]["p@10"], "coverage": bli["coverage"],
          "queries": bli["queries"], "criterion": round(crit, 4)}


def supervised(d):
  t = _clock()
  src_rows, tgt_rows = d["dicts"]["train"].pairs()
  W = refine.procrustes(d["x"][src_rows], d["z"][tgt_rows])
  fit = _since(t)
  out = score(d, W)
  out.update(method="supervised procrustes", seed=None, fit_wall_s=fit[0], fit_cpu_s=fit[1])
  return out


def unsupervised(d, method, seed):
  t = _clock()
  try:
    W, info = refine.unsupervised_map(
        src_NxD=d["x"], tgt_MxE=d["z"], init=method, seed=seed, src_words=d["src"].words,
        tgt_words=d["tgt"].words, refine_iters=FLAGS.refine_iters,
        sl_max_iters=FLAGS.sl_max_iters if method == "similarity" else 0,
        sl_time_budget_s=FLAGS.sl_time_budget_s)
  except InputError as e:  # e.g. no numerals in a corpus cleaned to letters: a failed run
    wall, cpu = _since(t)
    return {"method": method, "seed": seed, "csls_p1": 0.0, "nn_p1": 0.0, "csls_p10": 0.0,
            "criterion": 0.0, "wall_s": wall, "cpu_s": cpu, "error": str(e)}
  wall, cpu = _since(t)
  out = score(d, W)  # the test dictionary is read only now, for the report
  out.update(method=method, seed=seed, wall_s=wall, cpu_s=cpu,
             seed_pairs=info.get("seed_pairs"),
             criterion_init=round(info["criterion_init"], 4),
             self_learning_iters=info.get("self_learning", {}).get("iters"))
  return out


def summarise(rows, ceiling):
  p = [r["csls_p1"] for r in rows]
  mean = statistics.fmean(p)
  return {"seeds": len(rows), "success": sum(x >= FLAGS.success_p1 for x in p),
          "csls_p1_mean": round(mean, 2),
          "csls_p1_std": round(statistics.stdev(p), 2) if len(p) > 1 else 0.0,
          "nn_p1_mean": round(statistics.fmean(r["nn_p1"] for r in rows), 2),
          "ratio_to_supervised": round(mean / ceiling, 3) if ceiling else None,
          "criterion_mean": round(statistics.fmean(r["criterion"] for r in rows), 4),
          "wall_s_mean": round(statistics.fmean(r["wall_s"] for r in rows), 1),
          "cpu_s_mean": round(statistics.fmean(r["cpu_s"] for r in rows), 1)}


def main(argv):
  del argv

  def run():
    if not FLAGS.manifests:
      raise InputError("--manifests: give at least one manifest.json")
    for m in FLAGS.methods:
      if m not in refine.INITS or m == "aae":
        raise InputError(f"--methods: {m!r} is not one of identical, numerals, similarity, "
                         f"identity")
    steps = parse_steps(FLAGS.normalize)
    report = {"flags": {k: FLAGS[k].value for k in (
        "manifests", "directions", "methods", "seeds", "normalize", "max_vocab", "success_p1",
        "refine_iters", "sl_max_iters", "sl_time_budget_s")},
        "load_average": os.getloadavg(), "pairs": []}
    lines = ["| pair | method | success | CSLS P@1 mean ± sd | NN P@1 | ratio to supervised | "
             "criterion | wall s | CPU s |", "|---|---|---|---|---|---|---|---|---|"]
    for manifest in FLAGS.manifests:
      for reverse in ((False, True) if FLAGS.directions == "both" else (False,)):
        d = load_direction(manifest, reverse, steps, FLAGS.max_vocab)
        log(f"{d['name']}: {len(d['src'])} x {d['x'].shape[1]} -> {len(d['tgt'])} x "
            f"{d['z'].shape[1]}, test queries {d['dicts']['test'].num_queries}")
        sup = supervised(d)
        log(f"  supervised: {sup}")
        entry = {"pair": d["name"], "supervised": sup, "methods": {}}
        lines.append(f"| {d['name']} | supervised Procrustes | - | {sup['csls_p1']:.1f} | "
                     f"{sup['nn_p1']:.1f} | 1.0 | {sup['criterion']:.3f} | "
                     f"{sup['fit_wall_s']} (fit) | {sup['fit_cpu_s']} |")
        for method in FLAGS.methods:
          rows = []
          once = method in DETERMINISTIC and not FLAGS.repeat_deterministic
          for seed in range(1 if once else FLAGS.seeds):
            rows.append(unsupervised(d, method, seed))
            log(f"  {method} seed {seed}: {rows[-1]}")
          summary = summarise(rows, sup["csls_p1"])
          if once:  # the same mapping for every seed: count it for each
            summary["seeds"], summary["deterministic"] = FLAGS.seeds, True
            summary["success"] *= FLAGS.seeds
          entry["methods"][method] = {"runs": rows, "summary": summary}
          s = summary
          lines.append(
              f"| {d['name']} | {method}{' (deterministic)' if once else ''} | "
              f"{s['success']}/{s['seeds']} | {s['csls_p1_mean']:.1f} ± {s['csls_p1_std']:.1f}"
              f" | {s['nn_p1_mean']:.1f} | {s['ratio_to_supervised']} | "
              f"{s['criterion_mean']:.3f} | {s['wall_s_mean']} | {s['cpu_s_mean']} |")
          if FLAGS.out:
            write_json(FLAGS.out, {**report, "pairs": report["pairs"] + [entry]})
        report["pairs"].append(entry)
    report["table"] = lines
    if FLAGS.out:
      write_json(FLAGS.out, report)
    print("\n".join(lines))

  exit_on_input_error(run)


if __name__ == "__main__":
  app.run(main)
