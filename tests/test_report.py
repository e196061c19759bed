"""`clweadv.report` draws non-empty PNGs from short real runs."""

import os

import pytest

from clweadv import experiment, report
from clweadv.errors import InputError

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


def _png(path):
  with open(path, "rb") as f:
    data = f.read()
  return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10000


def test_comparison_of_two_short_runs(tmp_path):
  runs = []
  for model in ("aae", "gan"):
    workdir = tmp_path / model
    experiment.run_experiment(make_config(workdir, f"--model={model}", steps=100, eval_every=50,
                                          checkpoint_every=100, test_dictionary=EN_FR_DICT))
    runs.append((model, str(workdir)))
  path = report.write_comparison(
      str(tmp_path / "cmp.png"), runs, title="aae vs gan",
      panels=[("valid/diversity", "diversity"), ("train/gen_grad_norm", "grad norm"),
              ("test/csls/p@1", "P@1")], columns=2, logy=("train/gen_grad_norm",))
  assert _png(path)
  with pytest.raises(InputError, match="none of"):
    report.write_comparison(str(tmp_path / "none.png"), runs, panels=[("no/such", "x")],
                            title="")
  with pytest.raises(InputError, match="metrics.jsonl: missing"):
    report.write_comparison(str(tmp_path / "x.png"), [("x", str(tmp_path / "nothing"))],
                            panels=[("valid/diversity", "d")], title="")


def test_bars_write_values_and_missing_ones(tmp_path):
  path = report.write_bars(
      str(tmp_path / "bars.png"), groups=["en->it", "en->de"], series=["a", "b"],
      panels=[("P@1", {("a", "en->it"): 0.0, ("b", "en->it"): 3.0, ("a", "en->de"): None})],
      title="t")
  assert _png(path)
