"""`clweadv.report` draws non-empty PNGs from a short real run."""

import os

from clweadv import experiment, report

from conftest import EN_FR_DICT, make_config


def test_report_of_a_short_run(tmp_path):
  experiment.run_experiment(make_config(tmp_path, steps=100, eval_every=50, checkpoint_every=100,
                                        test_dictionary=EN_FR_DICT))
  paths = report.write_report(str(tmp_path), pairs=20)
  names = sorted(os.path.basename(p) for p in paths)
  assert names == ["discriminators.png", "losses.png", "projection.png", "selection.png"]
  for p in paths:
    with open(p, "rb") as f:
      data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10000
