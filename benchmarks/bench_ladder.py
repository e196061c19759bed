"""The ladder: where does structure-only mapping work, and where does it stop?

Each rung is a pair of real embedding spaces whose true dictionary is known, from easy to hard:

- R1 rotation: a real space and an exact random rotation of it (GloVe-50, 20k words; the French
  fastText-300 table, 20k words);
- R2 noise: the same with Gaussian noise (0.1 or 0.3 of the entries' standard deviation) and 20 %
  of the words missing on each side (independently);
- R3 halves: English word2vec on two disjoint random halves of the English corpus (d=100, d=300,
  and d=100 against d=300 both ways);
- R3-size: the halves subsampled to 0.125M-4M tokens a side;
- R3-domain: dictionaries and glossaries on one side, manuals and package descriptions on the other;
- R4 real pairs: prepared manifests (corpus en-fr both ways, pretrained en-fr, pretrained en-ru).

On R1-R3 the target words are renamed (`~word`), so no spelling is shared and the gold dictionary
is the identity: test words are source ranks 5,000-6,500 present on both sides, the supervised
train words the other shared words among the 5,000 most frequent. Where fewer than 500 shared
words have those ranks (the halves cut to 0.25M tokens or fewer: word2vec keeps 5,554 words at
0.25M, 3,228 at 0.125M), the test words are 1,500 shared words after the first fifth (ranks
~850-2,400 at 0.25M): more frequent words, so those P@1 are not comparable with the larger
sizes'. Every method is `python -m clweadv.main` run as a user would, once per seed; the gold
dictionary only reports:

- `procrustes`: supervised orthogonal Procrustes on the train words (the ceiling);
- `similarity`: `--init=similarity` (VecMap's similarity-structure seed, self-learning, refinement),
  the non-adversarial reference;
- `adversarial`: `experiments/adversarial.flags` (adversarial training, then refinement);
- `faithful`: the paper's game (the faithful flagfiles' settings) for as many steps, then the
  same refinement.
- `truth`: a diagnostic, not a method (it reads the train dictionary): `game_at_truth.py`, the
  flagfile's game frozen at its random start and at supervised Procrustes, and played from the
  latter: how well its discriminator tells the two sides apart at the translation, and whether
  the game stays there.

For the adversarial runs the stage alone is scored too (`alone`: the test P@1 the run logged at
the step the unsupervised criterion selected, before refinement).

A seed succeeds when its CSLS P@1 reaches `--success_ratio` of the supervised ceiling. Every run
also judges itself without a dictionary (`judged`: its criterion at least `--success_margin`
above that of refined random rotations; `criterion - chance` is that margin): where even the
supervised row's margin is below 0.1, the judgement cannot tell any mapping of that case from
chance.

  python benchmarks/ladder_data.py                       # the corpus halves (once, ~40 min)
  python benchmarks/bench_ladder.py --rungs=R1,R2,R3 --seeds=5 --out=benchmarks/ladder.json
  # Two more seeds (3 and 4) of a case already run with --seeds=3, summarised with the first three:
  python benchmarks/bench_ladder.py --cases=r3_halves_d100 --methods=adversarial --seeds=2 \
      --first_seed=3 --merge=first3.json --out=seeds34.json
"""

import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from absl import app, flags  # pylint: disable=g-import-not-at-top

import common  # pylint: disable=g-import-not-at-top
import ladder_data  # pylint: disable=g-import-not-at-top
# pylint: disable=g-import-not-at-top
from clweadv.embeddings import read_embeddings, write_counts, write_vec
from clweadv.errors import InputError, exit_on_input_error, parse_flags
# pylint: enable=g-import-not-at-top
from clweadv.fileio import write_json  # pylint: disable=g-import-not-at-top
from clweadv.data.prepare import default_data_dir  # pylint: disable=g-import-not-at-top
from clweadv.refine import random_orthogonal  # pylint: disable=g-import-not-at-top

FLAGS = flags.FLAGS
flags.DEFINE_list("rungs", ["R1", "R2", "R3"], "Rungs to run: R1 R2 R3 R3-size R3-domain R4.")
flags.DEFINE_list("methods", ["procrustes", "similarity", "adversarial"],
                  "Methods (see the module docstring).")
flags.DEFINE_integer("seeds", 5, "Seeds per case of the adversarial method.")
flags.DEFINE_integer("first_seed", 0, "The first seed (runs seeds --first_seed, +1, ...: more "
                     "seeds for a case already run, summarised together with --merge).")
flags.DEFINE_list("merge", [], "Earlier --out files whose runs join this summary (runs of the "
                  "same case, method and seed are taken from this invocation).")
flags.DEFINE_integer("reference_seeds", None, "Seeds per case of `similarity` and `faithful` "
                     "(default --seeds; procrustes is deterministic: one).")
flags.DEFINE_list("cases", [], "Only these cases (names as printed), e.g. r1_glove50.")
flags.DEFINE_integer("vocab", 20000, "Words per side on R1-R3 (R3 d=300 full also 50000).")
flags.DEFINE_float("success_ratio", 0.8, "A seed succeeds at this fraction of supervised.")
flags.DEFINE_string("data_dir", None, "Prepared data (default $CLWEADV_DATA or ~/.cache/clweadv).")
flags.DEFINE_string("work_dir", "/tmp/clweadv_ladder", "Cases and run work dirs.")
flags.DEFINE_list("extra", [], "Extra flags for every adversarial run (name=value).")
flags.DEFINE_string("out", "", "Write every run and the summary as JSON here.")
RUNGS = ("R1", "R2", "R3", "R3-size", "R3-domain", "R4")
flags.register_validator("rungs", lambda v: set(v) <= set(RUNGS),
                         f"must be among {', '.join(RUNGS)}")

METHOD_FLAGS = {
    "procrustes": ["--model=procrustes", "--normalize=unit,center,unit", "--nostandardize"],
    "similarity": ["--steps=0", "--init=similarity", "--refine_iters=10",
                   "--normalize=unit,center,unit", "--nostandardize"],
    "adversarial": ["--flagfile=" + os.path.join(ROOT, "experiments", "adversarial.flags")],
    # The paper's game as the faithful flagfiles play it (clweadv.main's defaults: residual
    # discriminator k=40 T=10, lambdas 1, Adam 0.001/0.01, standardised inputs), as long as the
    # adversarial method's, then the same refinement.
    "faithful": ["--model=aae", "--normalize=none", "--standardize", "--sampling=faithful",
                 "--steps=4000", "--eval_every=500", "--checkpoint_every=1000", "--init=aae",
                 "--refine_iters=10", "--max_vocab=50000"],
    # A diagnostic with the train dictionary, not a method: the shipped game frozen at its random
    # start and at supervised Procrustes, and played from the latter (`game_at_truth.py`).
    "truth": ["--flagfile=" + os.path.join(ROOT, "experiments", "adversarial.flags")],
}
GAME_AT_TRUTH = os.path.join(ROOT, "benchmarks", "game_at_truth.py")
flags.register_validator("methods", lambda v: set(v) <= set(METHOD_FLAGS),
                         f"must be among {', '.join(METHOD_FLAGS)}")
PREFIX = "~"   # Target words are renamed: no spelling is shared.


def log(msg):
  print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Cases: (src.vec, tgt.vec, test dictionary, train dictionary), built once.


def _write_pairs(path, words):
  with open(path, "w", encoding="utf-8") as f:
    for w in words:
      f.write(f"{w} {PREFIX}{w}\n")


def write_case(case_dir, *, src_words, src_X, tgt_words, tgt_Y):
  """Writes a same-language case with renamed target words and its identity dictionaries."""
  os.makedirs(case_dir, exist_ok=True)
  paths = {k: os.path.join(case_dir, k) for k in ("src.vec", "tgt.vec", "test.txt", "train.txt")}
  if all(os.path.isfile(p) for p in paths.values()):
    return paths
  tgt_set = set(tgt_words)
  shared = [w for w in src_words if w in tgt_set]
  rank = {w: i for i, w in enumerate(src_words)}
  test = [w for w in shared if 5000 <= rank[w] < 6500]
  if len(test) < 500:  # A small vocabulary: the 1,500 shared words after the first fifth.
    start = len(shared) // 5
    test = shared[start:start + 1500]
  test_set = set(test)
  train = [w for w in shared if w not in test_set and rank[w] < 5000]
  write_vec(paths["src.vec"], src_words, src_X)
  write_vec(paths["tgt.vec"], [PREFIX + w for w in tgt_words], tgt_Y)
  _write_pairs(paths["test.txt"], test)
  _write_pairs(paths["train.txt"], train)
  return paths


def rotation_case(work_dir, name, vec_path, *, vocab, noise=0.0, missing=0.0, seed=1234):
  """R1/R2: the space, and a rotated copy with optional noise and words missing on each side."""
  emb = read_embeddings(vec_path, max_vocab=vocab)
  x = emb.vectors.astype(np.float32)
  rng = np.random.default_rng(seed)
  y = x @ random_orthogonal(x.shape[1], x.shape[1], seed=seed)
  if noise:
    y = y + rng.standard_normal(y.shape).astype(np.float32) * (noise * x.std())
  keep_src = np.sort(rng.permutation(len(x))[:int(round(len(x) * (1 - missing)))])
  keep_tgt = np.sort(rng.permutation(len(x))[:int(round(len(x) * (1 - missing)))])
  return write_case(os.path.join(work_dir, name),
                    src_words=[emb.words[i] for i in keep_src], src_X=x[keep_src],
                    tgt_words=[emb.words[i] for i in keep_tgt], tgt_Y=y[keep_tgt])


def sides_case(work_dir, name, sides, *, vocab):
  """R3: two word2vec spaces of the same language (`ladder_data.side_embeddings`), with their
  corpus counts (`src.vocab`, `tgt.vocab`: `--disc_min_count` reads them)."""
  (src_vec, src_vocab), (tgt_vec, tgt_vocab) = sides
  src = read_embeddings(src_vec, max_vocab=vocab, vocab_path=src_vocab)
  tgt = read_embeddings(tgt_vec, max_vocab=vocab, vocab_path=tgt_vocab)
  case_dir = os.path.join(work_dir, name)
  paths = write_case(case_dir, src_words=src.words, src_X=src.vectors,
                     tgt_words=tgt.words, tgt_Y=tgt.vectors)
  for key, words, counts in (("src.vocab", src.words, src.counts),
                             ("tgt.vocab", [PREFIX + w for w in tgt.words], tgt.counts)):
    paths[key] = os.path.join(case_dir, key)
    if not os.path.isfile(paths[key]):
      write_counts(paths[key], words, counts)
  return paths


def manifest_case(manifest_path, *, reverse=False):
  """R4: a prepared real pair (its own FreeDict test/train split), with the corpus counts of
  the sides that have them (`src.vocab`, `tgt.vocab`: the word2vec pairs; pretrained GloVe and
  fastText ship none)."""
  with open(os.path.expanduser(manifest_path), encoding="utf-8") as f:
    m = json.load(f)
  vocab = [m.get("src_vocab"), m.get("tgt_vocab")][::-1 if reverse else 1]
  counts = {k: v for k, v in zip(("src.vocab", "tgt.vocab"), vocab) if v}
  keys = ("src.vec", "tgt.vec", "test.txt", "train.txt")
  values = [m["src_emb"], m["tgt_emb"], m["test_dictionary"], m["train_dictionary"]]
  if reverse:  # The dictionaries are read reversed by --reverse_dictionary-free means: rewrite.
    out = os.path.join(FLAGS.work_dir, "reversed-" + os.path.basename(os.path.dirname(
        m["manifest"])))
    os.makedirs(out, exist_ok=True)
    rev = []
    for p in values[2:]:
      q = os.path.join(out, os.path.basename(p))
      with open(p, encoding="utf-8") as f, open(q, "w", encoding="utf-8") as g:
        for line in f:
          parts = line.split()
          if len(parts) == 2:
            g.write(f"{parts[1]} {parts[0]}\n")
      rev.append(q)
    values = [values[1], values[0]] + rev
  return {**dict(zip(keys, values)), **counts}


def build_cases(rungs, data_dir, vocab, only=()):
  """{name: (rung, paths, extra main flags)} for the requested rungs whose data exist; with
  `only`, just those cases (in that order), so that no other case's data are built."""
  wd = FLAGS.work_dir
  glove = os.path.join(data_dir, "embeddings", "en.glove6b-50d.top50000.vec")
  fasttext = os.path.join(data_dir, "embeddings", "fr.fasttext-spacy-300d.top50000.vec")
  if not os.path.isfile(glove):
    glove = os.path.join(ROOT, "third_party", "glove6b", "en.top5000.vec")
  if not os.path.isfile(fasttext):
    fasttext = os.path.join(ROOT, "third_party", "fasttext_fr", "fr.top4000.vec")
  build = {}     # name: (rung, a function building the case's files)
  missing = {}   # name: its manifest, not prepared
  if "R1" in rungs:
    for name, path in (("r1_glove50", glove), ("r1_fasttext300", fasttext)):
      build[name] = ("R1", lambda n=name, p=path: rotation_case(wd, n, p, vocab=vocab))
  if "R2" in rungs:
    for noise in (0.1, 0.3):
      name = f"r2_glove50_noise{noise}"
      build[name] = ("R2", lambda n=name, z=noise: rotation_case(wd, n, glove, vocab=vocab,
                                                                 noise=z, missing=0.2))
  halves = lambda **kw: ladder_data.side_embeddings(data_dir, split="halves", **kw)
  if "R3" in rungs:
    for dim in (100, 300):
      name = f"r3_halves_d{dim}"
      build[name] = ("R3", lambda n=name, d=dim: sides_case(wd, n, halves(dim=d), vocab=vocab))
    build["r3_halves_d300_50k"] = ("R3", lambda: sides_case(wd, "r3_halves_d300_50k",
                                                            halves(dim=300), vocab=50000))
    # Different dimensions: one half at d=100, the other at d=300 (as GloVe-50 against
    # fastText-300 on a real pair, the smaller space maps into a subspace of the larger).
    for a, b in ((100, 300), (300, 100)):
      name = f"r3_halves_d{a}_d{b}"
      build[name] = ("R3", lambda n=name, a=a, b=b: sides_case(
          wd, n, (halves(dim=a)[0], halves(dim=b)[1]), vocab=vocab))
  if "R3-size" in rungs:
    for tokens in (125000, 250000, 500000, 1000000, 2000000, 4000000):
      name = f"r3_size_{tokens // 1000}k"
      build[name] = ("R3-size", lambda n=name, t=tokens: sides_case(
          wd, n, halves(dim=100, max_tokens=t), vocab=vocab))
  if "R3-domain" in rungs:
    build["r3_domain"] = ("R3-domain", lambda: sides_case(
        wd, "r3_domain", ladder_data.side_embeddings(data_dir, split="domain", dim=100),
        vocab=vocab))
  if "R4" in rungs:
    pairs = os.path.join(data_dir, "pairs")
    for sub, rev, name in (("en-fr.corpus.d300", False, "r4_corpus_en_fr"),
                           ("en-fr.corpus.d300", True, "r4_corpus_fr_en"),
                           ("en-fr.pretrained", False, "r4_pretrained_en_fr"),
                           ("en-ru.pretrained", False, "r4_pretrained_en_ru")):
      path = os.path.join(pairs, sub, "manifest.json")
      if os.path.isfile(path):
        build[name] = ("R4", lambda p=path, r=rev: manifest_case(p, reverse=r))
      else:
        missing[name] = path
  unknown = [name for name in only if name not in build and name not in missing]
  if unknown:  # Checked before any case is built: a typo must not cost a partial benchmark.
    raise InputError(f"--cases: no case {', '.join(unknown)} on --rungs={','.join(rungs)} "
                     f"(cases there: {', '.join([*build, *missing])})")
  cases = {}
  for name in only or [*build, *missing]:
    if name in missing:
      log(f"{name}: skipped ({missing[name]} missing: python -m clweadv.prepare)")
    else:
      cases[name] = (build[name][0], build[name][1](), [])
  return cases


# ---------------------------------------------------------------------------------------------
# Runs.


def run_method(case_name, paths, method, seed, extra):
  workdir = os.path.join(FLAGS.work_dir, "runs", f"{case_name}.{method}.s{seed}")
  common.fresh_dir(workdir)
  program = [GAME_AT_TRUTH] if method == "truth" else ["-m", "clweadv.main", "--export=false"]
  cmd = [sys.executable, *program, f"--src_emb={paths['src.vec']}",
         f"--tgt_emb={paths['tgt.vec']}", f"--test_dictionary={paths['test.txt']}",
         f"--workdir={workdir}", f"--seed={seed}",
         f"--experiment={case_name}.{method}"] + METHOD_FLAGS[method] + extra
  cmd += [f"--{side}_vocab={paths[side + '.vocab']}" for side in ("src", "tgt")
          if paths.get(side + ".vocab")]
  if method in ("procrustes", "truth"):
    cmd.append(f"--train_dictionary={paths['train.txt']}")
  if method in ("adversarial", "faithful", "truth"):
    cmd += [f"--{kv}" for kv in FLAGS.extra]
  t0, cpu0 = time.time(), os.times()
  proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
  cpu1 = os.times()
  if proc.returncode:
    log(proc.stderr[-3000:])
    return {"case": case_name, "method": method, "seed": seed, "error": proc.returncode}
  row = {"case": case_name, "method": method, "seed": seed,
         **(_truth_row(workdir) if method == "truth" else _run_row(workdir)),
         "wall_s": round(time.time() - t0, 1),
         "cpu_s": round(cpu1.children_user + cpu1.children_system
                        - cpu0.children_user - cpu0.children_system, 1)}
  log(json.dumps(row))
  return row


def _run_row(workdir):
  """What one `clweadv.main` run reports (its `results.json`)."""
  with open(os.path.join(workdir, "results.json"), encoding="utf-8") as f:
    res = json.load(f)
  return {"csls_p1": res["bli"]["csls"]["p@1"], "nn_p1": res["bli"]["nn"]["p@1"],
          "criterion": res["criterion"]["mean_cosine"], "success": res.get("success"),
          "chance": res.get("chance_criterion"), "judged_criterion": res.get("judged_criterion"),
          "restarts": res.get("restarts"), "rounds": res.get("rounds"),
          "alone_csls_p1": _logged_p1(workdir, res.get("selected_step"),
                                      res.get("selected_round") or 0)}


def _truth_row(workdir):
  """What `game_at_truth.py` reports; the played game's last P@1 stands as its P@1."""
  with open(os.path.join(workdir, "game_at_truth.json"), encoding="utf-8") as f:
    res = json.load(f)
  return {"csls_p1": list(res["played"]["p1"].values())[-1],
          "truth_p1": res["truth"]["p1"]["0"], "played_p1": res["played"]["p1"],
          **{f"{k}_acc": res[k]["monitor_acc"] for k in ("random", "truth", "played")}}


def _logged_p1(workdir, step, round_k=0):
  """The test CSLS P@1 the run logged at `step` of round `round_k` (the adversarial stage
  alone), or None."""
  if not step:
    return None
  sub = os.path.join(workdir, f"round{round_k}") if round_k else workdir
  with open(os.path.join(sub, "metrics.jsonl"), encoding="utf-8") as f:
    for line in f:
      row = json.loads(line)
      if row.get("step") == step and "test/csls/p@1" in row:
        return row["test/csls/p@1"]
  return None


def summarise(rows, success_ratio):
  ceiling = {r["case"]: r["csls_p1"] for r in rows if r["method"] == "procrustes"
             and "csls_p1" in r}
  out = []
  keys = sorted({(r["case"], r["method"]) for r in rows}, key=lambda k: (k[0], k[1]))
  for case, method in keys:
    rs = [r for r in rows if r["case"] == case and r["method"] == method and "csls_p1" in r]
    if not rs:
      continue
    p1 = [r["csls_p1"] for r in rs]
    sup = ceiling.get(case)
    ok = [sup is not None and p >= success_ratio * sup for p in p1]
    out.append({"case": case, "method": method, "seeds": len(rs),
                "success": f"{sum(ok)}/{len(rs)}", "mean": round(statistics.mean(p1), 1),
                "min": round(min(p1), 1),
                "spread": round(statistics.stdev(p1), 1) if len(p1) > 1 else 0.0,
                "ratio": round(statistics.mean(p1) / sup, 3) if sup else None,
                "alone": _mean_or_none([r.get("alone_csls_p1") for r in rs]),
                # Every run judges itself; the supervised row's margin over chance says
                # whether the judgement can call any mapping of this case a success.
                "above_chance": _mean_or_none([r["judged_criterion"] - r["chance"] for r in rs
                                               if r.get("judged_criterion") is not None
                                               and r.get("chance") is not None], digits=3),
                "judged": f"{sum(bool(r.get('success')) for r in rs)}/{len(rs)}"
                          if any(r.get("success") is not None for r in rs) else "",
                "wall_s": round(statistics.mean(r["wall_s"] for r in rs), 1),
                "cpu_s": round(statistics.mean(r["cpu_s"] for r in rs), 1),
                **{k: _mean_or_none([r.get(k) for r in rs], digits=3)
                   for k in ("random_acc", "truth_acc", "played_acc") if method == "truth"}})
  return out


def _mean_or_none(values, digits=1):
  values = [v for v in values if v is not None]
  return round(statistics.mean(values), digits) if values else None


def print_table(summary):
  print("| case | method | success | mean CSLS P@1 | min | spread | of supervised | "
        "adversarial stage alone | criterion - chance | judged a success | wall s | CPU s |")
  print("|---|---|---|---|---|---|---|---|---|---|---|---|")
  blank = lambda v: "" if v is None else v
  for s in summary:
    print(f"| {s['case']} | {s['method']} | {s['success']} | {s['mean']} | {s['min']} | "
          f"{s['spread']} | {s['ratio']} | {blank(s['alone'])} | "
          f"{blank(s.get('above_chance'))} | {s['judged']} | {s['wall_s']} | {s['cpu_s']} |")
  truth = [s for s in summary if s["method"] == "truth"]
  if truth:  # game_at_truth.py: the monitor's accuracy at the random start and at the truth.
    print("\n| case | accuracy at the random start | at supervised Procrustes | in the game "
          "played from it | its CSLS P@1 at the end, of supervised |")
    print("|---|---|---|---|---|")
    for s in truth:
      print(f"| {s['case']} | {s['random_acc']} | {s['truth_acc']} | {s['played_acc']} | "
            f"{s['mean']} ({s['ratio']}) |")


def main(argv):
  del argv
  exit_on_input_error(run_ladder)


def run_ladder():
  data_dir = FLAGS.data_dir or default_data_dir()
  cases = build_cases(FLAGS.rungs, data_dir, FLAGS.vocab, only=FLAGS.cases)
  rows = []
  log(common.machine())
  earlier = []
  for path in FLAGS.merge:
    with open(path, encoding="utf-8") as f:
      earlier += json.load(f)["rows"]
  for name, (rung, paths, extra) in cases.items():
    for method in FLAGS.methods:
      n = {"similarity": FLAGS.reference_seeds or FLAGS.seeds,
           "faithful": FLAGS.reference_seeds or FLAGS.seeds}.get(method, FLAGS.seeds)
      seeds = range(1) if method == "procrustes" else range(FLAGS.first_seed,
                                                            FLAGS.first_seed + n)
      for seed in seeds:
        row = run_method(name, paths, method, seed, extra)
        row["rung"] = rung
        rows.append(row)
        if FLAGS.out:
          write_json(FLAGS.out, {"machine": common.machine(), "rows": rows,
                                 "summary": summarise(_merged(earlier, rows),
                                                      FLAGS.success_ratio)})
  print_table(summarise(_merged(earlier, rows), FLAGS.success_ratio))


def _merged(earlier, rows):
  """`earlier` rows (from --merge) not rerun in `rows`, then `rows`."""
  new = {(r["case"], r["method"], r["seed"]) for r in rows}
  return [r for r in earlier if (r["case"], r["method"], r["seed"]) not in new] + rows


if __name__ == "__main__":
  app.run(main, flags_parser=parse_flags)
