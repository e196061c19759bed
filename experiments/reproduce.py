r"""Reproduces the paper's claims, one command per claim: runs, then figures and a numbers table.

  python experiments/reproduce.py --claim=gan_collapse [--out=experiments/figures]
      [--runs=/tmp/repro]
  python experiments/reproduce.py --claim=all

Claims: gan_collapse, neighbours, de_en, deep_aae, disc_grad, monitor, baselines (see
experiments/REPRODUCTION.md). Each claim names the `clweadv.main` runs it needs; a run whose
work dir (`--runs/NAME`) already holds results.json is reused, an interrupted one resumes from its
checkpoint. Runs go one at a time (logs in `--runs/NAME.log`). The figures (PNG) and
`CLAIM.md`, a table of the runs' final numbers, are written to `--out`.
"""

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from typing import Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from absl import app, flags  # pylint: disable=g-import-not-at-top

from clweadv import report  # pylint: disable=g-import-not-at-top
from clweadv.errors import (InputError, exit_on_input_error, parse_flags,  # pylint: disable=g-import-not-at-top
                            reject_arguments)

FLAGS = flags.FLAGS
CLAIMS = ("gan_collapse", "neighbours", "de_en", "deep_aae", "disc_grad", "monitor", "baselines")
flags.DEFINE_enum("claim", "all", CLAIMS + ("all",), "Which claim to reproduce.")
flags.DEFINE_string("out", os.path.join(ROOT, "experiments", "figures"),
                    "Where the figures and the numbers tables go.")
flags.DEFINE_string("runs", "/tmp/repro", "Parent of the runs' work dirs.")
flags.DEFINE_bool("dry_run", False, "Print the commands of the missing runs; run nothing.")

# Short runs for the curves that need dense evaluations, not the full 100k steps.
CURVE = ["--steps=10000", "--eval_every=500", "--checkpoint_every=10000"]


@dataclasses.dataclass(frozen=True)
class RunSpec:
  """One `clweadv.main` run: a flagfile plus overrides; `supervised` = (pair, dim) adds the
  pair's train split as --train_dictionary (supervised Procrustes only)."""
  name: str
  label: str
  flagfile: str
  overrides: tuple = ()
  supervised: Optional[tuple] = None


RUNS = {r.name: r for r in [
    # The paper's settings, full length.
    RunSpec("en_it", "AAE en->it", "experiments/en_it.flags"),
    RunSpec("en_de", "AAE en->de", "experiments/en_de.flags"),
    RunSpec("de_en", "AAE de->en", "experiments/de_en.flags"),
    # GAN-only vs AAE, same data and seed, 10k steps evaluated every 500.
    RunSpec("gan_lr01", "GAN, gen_lr 0.01, no skip logic", "experiments/en_it_gan.flags",
            ("--experiment=gan_lr01", *CURVE)),
    # The same GAN with two other seeds: how much of the collapse is seed 0's.
    *[RunSpec(f"gan_lr01_seed{seed}", f"GAN, gen_lr 0.01, no skip logic, seed {seed}",
              "experiments/en_it_gan.flags", (f"--experiment=gan_lr01_seed{seed}",
                                              f"--seed={seed}", *CURVE)) for seed in (1, 2)],
    RunSpec("aae_lr01", "AAE, gen_lr 0.01, no skip logic", "experiments/en_it_gan.flags",
            ("--experiment=aae_lr01", "--model=aae", *CURVE)),
    RunSpec("gan_paper", "GAN, paper's settings", "experiments/en_it_gan.flags",
            ("--experiment=gan_paper", "--gen_lr=0.001", "--skip_logic", *CURVE)),
    RunSpec("aae_paper", "AAE, paper's settings", "experiments/en_it.flags",
            ("--experiment=aae_paper", *CURVE)),
    # The same 10k steps (evaluated every 1000: evaluation does not change training) with a deep
    # non-linear autoencoder, and with a plain MLP discriminator.
    RunSpec("deep_aae_paper", "deep AAE, paper's settings", "experiments/en_it_deep_aae.flags",
            ("--experiment=deep_aae_paper", *CURVE, "--eval_every=1000")),
    RunSpec("aae_paper_mlp", "AAE, paper's settings, MLP discriminator",
            "experiments/en_it.flags",
            ("--experiment=aae_paper_mlp", "--disc_arch=mlp", *CURVE, "--eval_every=1000")),
    # The generator's gradient from the adversarial term alone (linear map, no decoder or
    # cosine term, no skip logic), residual vs plain discriminator of the same size.
    *[RunSpec(f"adv_only_{arch}", f"adversarial term only, {arch} discriminator",
              "experiments/en_it.flags",
              (f"--experiment=adv_only_{arch}", f"--disc_arch={arch}", "--lambda_r=0",
               "--lambda_c=0", "--noskip_logic", "--steps=5000", "--eval_every=5000",
               "--checkpoint_every=5000")) for arch in ("resnet", "mlp")],
    # Where the 2016 method stands: the project's dictionary-free default and supervised
    # Procrustes on the pair's train split, same data.
    *[RunSpec(f"{p}_unsup", f"{p.replace('_', '->')} dictionary-free default",
              f"experiments/{p}_unsup.flags") for p in ("en_it", "en_de", "de_en")],
    *[RunSpec(f"{p}_procrustes", f"{p.replace('_', '->')} supervised Procrustes",
              f"experiments/{p}_unsup.flags",
              (f"--experiment={p}_procrustes", "--model=procrustes", "--init=none",
               "--refine_iters=0"), supervised=(p.replace("_", "-"), dim))
      for p, dim in (("en_it", 100), ("en_de", 40), ("de_en", 40))],
]}

CLAIM_RUNS = {
    "gan_collapse": ("gan_lr01", "aae_lr01", "gan_paper", "aae_paper", "gan_lr01_seed1",
                     "gan_lr01_seed2"),
    "neighbours": ("en_it", "en_it_unsup", "en_it_procrustes"),
    "de_en": ("en_de", "de_en"),
    "deep_aae": ("aae_paper", "deep_aae_paper"),
    "disc_grad": ("adv_only_resnet", "adv_only_mlp", "aae_paper", "aae_paper_mlp"),
    "monitor": ("en_it", "en_de", "de_en"),
    "baselines": ("en_it", "en_it_unsup", "en_it_procrustes", "en_de", "en_de_unsup",
                  "en_de_procrustes", "de_en", "de_en_unsup", "de_en_procrustes"),
}


def command(spec, *, runs_dir, train_dictionary=None):
  """The `clweadv.main` argv of a run."""
  argv = [sys.executable, "-m", "clweadv.main", f"--flagfile={spec.flagfile}",
          f"--workdir={os.path.join(runs_dir, spec.name)}", *spec.overrides]
  if train_dictionary:
    argv.append(f"--train_dictionary={train_dictionary}")
  return argv


def missing_runs(names, runs_dir):
  """The runs among `names` (in order, once each) without a results.json yet."""
  seen = []
  for n in names:
    if n not in seen and not os.path.isfile(os.path.join(runs_dir, n, "results.json")):
      seen.append(n)
  return seen


def _train_dictionary(spec):
  if not spec.supervised:
    return None
  from clweadv.data import prepare  # pylint: disable=g-import-not-at-top
  pair, dim = spec.supervised
  return prepare.ensure_pair(pair=pair, source="corpus", dim=dim)["train_dictionary"]


def execute(names, runs_dir, *, dry_run=False):
  os.makedirs(runs_dir, exist_ok=True)
  for name in missing_runs(names, runs_dir):
    spec = RUNS[name]
    argv = command(spec, runs_dir=runs_dir, train_dictionary=_train_dictionary(spec))
    print(" ".join(argv[1:]), flush=True)
    if dry_run:
      continue
    tick = time.time()
    with open(os.path.join(runs_dir, f"{name}.log"), "w", encoding="utf-8") as log:
      rc = subprocess.call(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    if rc:
      raise InputError(f"run {name} failed (exit {rc}); see {runs_dir}/{name}.log")
    print(f"  done in {time.time() - tick:.0f} s", flush=True)


# -- numbers ---------------------------------------------------------------------------------

def _results(runs_dir, name):
  with open(os.path.join(runs_dir, name, "results.json"), encoding="utf-8") as f:
    return json.load(f)


def _fmt(x, digits=3):
  return "-" if x is None else (f"{x:.{digits}f}" if isinstance(x, float) else str(x))


def numbers_table(names, runs_dir, *, extra=()):
  """A markdown table of the runs' final numbers; `extra` = [(column, fn(rows, results))]."""
  from clweadv.metrics import read_metrics  # pylint: disable=g-import-not-at-top
  cols = ["run", "steps", "selected step", "P@1 NN", "P@1 CSLS", "P@10 CSLS", "criterion",
          "diversity", "wall s"] + [c for c, _ in extra]
  lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
  for name in names:
    res = _results(runs_dir, name)
    bli = res.get("bli") or {}
    nn, csls = bli.get("nn") or {}, bli.get("csls") or {}
    cells = [f"{name} ({RUNS[name].label})", res["steps"], res["selected_step"],
             _fmt(nn.get("p@1"), 2), _fmt(csls.get("p@1"), 2), _fmt(csls.get("p@10"), 2),
             _fmt(res["criterion"]["mean_cosine"]), _fmt(res["diversity"]),
             _fmt(res["wall_seconds"], 0)]
    if extra:
      rows = read_metrics(os.path.join(runs_dir, name))
      cells += [fn(rows, res) for _, fn in extra]
    lines.append("| " + " | ".join(str(c) for c in cells) + " |")
  return "\n".join(lines) + "\n"


def _train_mean(key, first=None, last=None):
  """Mean of a train metric over the logged rows with first < step <= last."""
  def fn(rows, _):
    vals = [r[key] for r in rows if key in r and r.get(key) is not None and "refine/iter" not in r
            and (first is None or r["step"] > first) and (last is None or r["step"] <= last)]
    return _fmt(sum(vals) / len(vals)) if vals else "-"
  return fn


def _neighbours(names, runs_dir):
  """The runs' neighbours.md tables, each under its run's name."""
  out = ""
  for n in names:
    with open(os.path.join(runs_dir, n, "neighbours.md"), encoding="utf-8") as f:
      out += f"\n{n} ({RUNS[n].label}):\n\n" + f.read()
  return out


# The paper's table words and their Italian translations (FreeDict), for the rank of the true
# translation among all target words ("the closest or nearly closest embedding is the true
# translation, for instance 'computer' (en) -> 'computer' (it)").
PAPER_TRANSLATIONS = (("computer", ("computer",)), ("rain", ("pioggia",)),
                      ("comics", ("fumetti", "fumetto")), ("anime", ("anime",)),
                      ("France", ("francia",)))


def translation_ranks(workdir, *, src_lang, tgt_lang, translations=PAPER_TRANSLATIONS):
  """{source word: best rank (1 = nearest) of its translations among all target words by cosine,
  or None when the source word or every translation is out of vocabulary}, from the run's
  exported vectors."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from clweadv.embeddings import read_embeddings  # pylint: disable=g-import-not-at-top
  src = read_embeddings(os.path.join(workdir, f"vectors-{src_lang}.vec"))
  tgt = read_embeddings(os.path.join(workdir, f"vectors-{tgt_lang}.vec"))
  unit = lambda x: x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-8)  # noqa: E731
  keys = unit(tgt.vectors)
  ranks = {}
  for word, golds in translations:
    row = src.index.get(word, src.index.get(word.lower()))
    ids = [tgt.index[g] for g in golds if g in tgt.index]
    if row is None or not ids:
      ranks[word] = None
      continue
    sims = keys @ unit(src.vectors[row])
    ranks[word] = min(int(np.sum(sims > sims[i])) + 1 for i in ids)
  return ranks


def _ranks_table(names, runs_dir):
  cols = [f"{n} ({RUNS[n].label})" for n in names]
  lines = ["| word | translation | " + " | ".join(f"rank in {c}" for c in cols) + " |",
           "|" + "---|" * (len(cols) + 2)]
  found = [translation_ranks(os.path.join(runs_dir, n), src_lang="en", tgt_lang="it")
           for n in names]
  for word, golds in PAPER_TRANSLATIONS:
    cells = ["not in vocabulary" if f[word] is None else str(f[word]) for f in found]
    lines.append(f"| {word} | {', '.join(golds)} | " + " | ".join(cells) + " |")
  return "\n".join(lines) + "\n"


def _max_eval(key):
  def fn(rows, _):
    vals = [r[key] for r in rows if r.get(key) is not None]
    return _fmt(max(vals)) if vals else "-"
  return fn


# -- figures ---------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Comparison:
  """One figure of `report.write_comparison`: runs on shared axes, one panel per metric."""
  filename: str
  runs: tuple
  panels: tuple
  title: str
  columns: Optional[int] = None
  logy: tuple = ()
  sharey: bool = False


COMPARISONS = {
    "gan_collapse": [
        Comparison("gan_collapse.png", ("gan_lr01", "aae_lr01", "gan_paper", "aae_paper"),
                   (("valid/diversity", "output diversity (mean pairwise cosine)"),
                    ("test/csls/p@1", "BLI P@1 CSLS (%)"), ("train/disc_acc", "D0 accuracy")),
                   "en->it: GAN-only generator vs adversarial autoencoder (same data, seed 0)"),
        Comparison("gan_collapse_seeds.png", ("gan_lr01", "gan_lr01_seed1", "gan_lr01_seed2"),
                   (("valid/diversity", "output diversity (mean pairwise cosine)"),
                    ("train/disc_acc", "D0 accuracy")),
                   "en->it: the GAN-only generator (gen_lr 0.01, no skip logic), seeds 0, 1, 2")],
    "de_en": [Comparison(
        "de_en.png", CLAIM_RUNS["de_en"],
        (("valid/mean_cosine", "unsupervised criterion"), ("valid/diversity", "output diversity"),
         ("test/csls/p@1", "BLI P@1 CSLS (%)")),
        "The paper's second setting: d=40, T=4, 100k steps")],
    "deep_aae": [Comparison(
        "deep_aae.png", CLAIM_RUNS["deep_aae"],
        (("train/recon_loss", "reconstruction loss"), ("train/adv_loss", "adversarial loss"),
         ("train/disc_acc", "D0 accuracy"), ("valid/mean_cosine", "unsupervised criterion"),
         ("valid/diversity", "output diversity"), ("test/csls/p@1", "BLI P@1 CSLS (%)")),
        "en->it: tied linear vs deep non-linear autoencoder (10k steps)", columns=3)],
    "disc_grad": [
        Comparison("disc_grad.png", CLAIM_RUNS["disc_grad"][:2],
                   (("train/gen_grad_norm", "generator gradient norm"),
                    ("train/disc_acc", "D0 accuracy")),
                   "Adversarial term only (linear generator, no skip logic): resnet vs MLP "
                   "discriminator, k=40, T=10", logy=("train/gen_grad_norm",)),
        Comparison("disc_grad_full.png", CLAIM_RUNS["disc_grad"][2:],
                   (("train/gen_grad_norm", "generator gradient norm (all terms)"),
                    ("train/disc_acc", "D0 accuracy"),
                    ("valid/mean_cosine", "unsupervised criterion")),
                   "The paper's full loss and skip logic, 10k steps: resnet vs MLP "
                   "discriminator", logy=("train/gen_grad_norm",))],
    "monitor": [Comparison(
        "monitor.png", CLAIM_RUNS["monitor"],
        (("train/disc_acc", "D0 accuracy (trains the generator)"),
         ("monitor/disc_acc", "D1 accuracy (monitor, never trains G)")),
        "The two discriminators over the paper's runs", sharey=True)],
}

# Extra columns of each claim's numbers table.
EXTRA_COLUMNS = {
    "gan_collapse": [("max diversity", _max_eval("valid/diversity"))],
    "deep_aae": [("recon loss, last 2k", _train_mean("train/recon_loss", first=8000)),
                 ("cos loss, last 2k", _train_mean("train/cos_loss", first=8000)),
                 ("adv active, mean", _train_mean("train/adv_active"))],
    "disc_grad": [("gen grad norm, steps 1-1000", _train_mean("train/gen_grad_norm", last=1000)),
                  ("gen grad norm, mean", _train_mean("train/gen_grad_norm")),
                  ("D0 acc, mean", _train_mean("train/disc_acc")),
                  ("adv active, mean", _train_mean("train/adv_active"))],
    "monitor": [("D0 acc, last 10k", _train_mean("train/disc_acc", first=90000)),
                ("D1 acc, last 10k", _train_mean("monitor/disc_acc", first=90000))],
}
BASELINE_METHODS = {"": "AAE (paper)", "unsup": "dictionary-free default",
                    "procrustes": "supervised Procrustes"}


def _baselines_figure(path, runs_dir):
  """Grouped bars of CSLS P@1 and P@10: pairs x (AAE, dictionary-free default, Procrustes)."""
  values = {}
  for name in CLAIM_RUNS["baselines"]:
    parts = name.split("_")
    pair, method = "->".join(parts[:2]), BASELINE_METHODS["_".join(parts[2:])]
    csls = (_results(runs_dir, name).get("bli") or {}).get("csls") or {}
    values[(method, pair)] = (csls.get("p@1"), csls.get("p@10"))
  pairs = list(dict.fromkeys(g for _, g in values))
  return report.write_bars(
      path, groups=pairs, series=list(BASELINE_METHODS.values()),
      panels=[("BLI P@1 CSLS (%)", {k: v[0] for k, v in values.items()}),
              ("BLI P@10 CSLS (%)", {k: v[1] for k, v in values.items()})],
      title="Where the 2016 method stands (same vectors, same test dictionaries)")


def figures(claim, runs_dir, out):
  """Draws the claim's figures into `out`; returns (paths, markdown numbers table)."""
  names = CLAIM_RUNS[claim]
  paths = [report.write_comparison(
      os.path.join(out, c.filename), [(RUNS[n].label, os.path.join(runs_dir, n)) for n in c.runs],
      panels=c.panels, title=c.title, columns=c.columns, logy=c.logy, sharey=c.sharey)
           for c in COMPARISONS.get(claim, [])]
  if claim == "neighbours":
    drawn = report.write_report(os.path.join(runs_dir, "en_it"), pairs=40)
    paths += [shutil.copyfile(x, os.path.join(out, f"en_it_{os.path.basename(x)}")) for x in drawn
              if os.path.basename(x) == "projection.png"]
  elif claim == "baselines":
    paths.append(_baselines_figure(os.path.join(out, "baselines.png"), runs_dir))
  table = numbers_table(names, runs_dir, extra=EXTRA_COLUMNS.get(claim, ()))
  if claim == "neighbours":
    table += "\n" + _ranks_table(names, runs_dir)
  if claim in ("neighbours", "de_en"):
    table += _neighbours(names, runs_dir)
  return paths, table


def main(argv):
  reject_arguments(argv)

  def run():
    claims = CLAIMS if FLAGS.claim == "all" else (FLAGS.claim,)
    names = [n for c in claims for n in CLAIM_RUNS[c]]
    execute(names, FLAGS.runs, dry_run=FLAGS.dry_run)
    if FLAGS.dry_run:
      return
    os.makedirs(FLAGS.out, exist_ok=True)
    for claim in claims:
      paths, table = figures(claim, FLAGS.runs, FLAGS.out)
      with open(os.path.join(FLAGS.out, f"{claim}.md"), "w", encoding="utf-8") as f:
        f.write(table)
      print(f"## {claim}\n\n{table}\n" + "\n".join(paths) + "\n")
  exit_on_input_error(run)


if __name__ == "__main__":
  app.run(main, flags_parser=parse_flags)
