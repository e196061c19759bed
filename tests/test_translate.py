"""`clweadv.translate` on a finished run's exports (real slices mapped by supervised Procrustes)."""

import json
import os
import subprocess
import sys

from clweadv import experiment, translate

from conftest import EN_FR_DICT, ROOT, make_config


def test_translate_a_procrustes_run(tmp_path):
  cfg = make_config(tmp_path, f"--train_dictionary={EN_FR_DICT}", model="procrustes",
                    max_vocab=4000, normalize="unit,center,unit", standardize="false")
  experiment.run_experiment(cfg)
  _, src, tgt = translate.load_workdir(str(tmp_path))
  hits = dict(translate.translate(["water", "Monday", "qwxzv"], src=src, tgt=tgt, k=10))
  assert "eau" in [w for w, _ in hits["water"]]
  assert "lundi" in [w for w, _ in hits["monday" if "monday" in hits else "Monday"]]
  assert hits["qwxzv"] is None
  env = dict(os.environ, PYTHONPATH=ROOT)
  proc = subprocess.run([sys.executable, "-m", "clweadv.translate", f"--workdir={tmp_path}",
                         "--k=5", "water", "qwxzv"], capture_output=True, text=True, env=env,
                        cwd=ROOT, timeout=300)
  assert proc.returncode == 0, proc.stderr
  assert "eau" in proc.stdout and "qwxzv: not in the en vocabulary" in proc.stdout
  # A supervised mapping that translates: judged a success, so no warning.
  results = json.load(open(tmp_path / "results.json"))
  assert results["success"] and results["failure"] is None, results
  assert (results["model"], results["steps"]) == ("procrustes", 0)
  assert "warning" not in proc.stderr, proc.stderr
  assert os.path.exists(tmp_path / "dictionary.en-fr.tsv")
  first = open(tmp_path / "dictionary.en-fr.tsv", encoding="utf-8").readline().split("\t")
  assert first[0] == "the" and len(first) == 3


def test_a_failed_run_says_so_at_its_end_and_in_translate(tmp_path, capsys):
  # The paper's autoencoder for 200 steps maps nothing on this pair: no better than chance.
  experiment.run_experiment(make_config(tmp_path))
  results = json.load(open(tmp_path / "results.json"))
  assert results["success"] is False
  assert results["failure"].startswith("it is no better than a random rotation: its "
                                       "unsupervised criterion"), results["failure"]
  # `judged_criterion` is the value the judgement compared with chance.
  assert results["judged_criterion"] < results["chance_criterion"] + 0.1
  assert (f"criterion {results['judged_criterion']:.3f} is not 0.1 above that of refined random "
          f"rotations ({results['chance_criterion']:.3f})") in results["failure"]
  err = capsys.readouterr().err
  assert f"warning: the mapping probably failed: {results['failure']}" in err.splitlines()
  assert "done in " in err and f"results in {tmp_path / 'results.json'}" in err
  env = dict(os.environ, PYTHONPATH=ROOT)
  proc = subprocess.run([sys.executable, "-m", "clweadv.translate", f"--workdir={tmp_path}",
                         "water"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
  assert proc.returncode == 0, proc.stderr
  assert (f"warning: {tmp_path}: this run's mapping probably failed ({results['failure']}); "
          "its translations are not to be trusted") in proc.stderr.splitlines()
