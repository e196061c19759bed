"""`clweadv.translate` on a finished run's exports (real slices mapped by supervised Procrustes)."""

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
  assert os.path.exists(tmp_path / "dictionary.en-fr.tsv")
  first = open(tmp_path / "dictionary.en-fr.tsv", encoding="utf-8").readline().split("\t")
  assert first[0] == "the" and len(first) == 3
