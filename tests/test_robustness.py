"""Runs that go wrong: a non-finite loss, a second run on the same work dir."""

import json
import os

import jax.numpy as jnp
import pytest

from clweadv import experiment, train
from clweadv.checkpoint import Checkpointer
from clweadv.errors import InputError
from clweadv.metrics import read_metrics

from conftest import make_config


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
  real_step = train.train_step

  def poisoned(setup, state, data):  # The loss turns NaN from step 25 on.
    new, metrics = real_step(setup, state, data)
    bad = jnp.where(state.step >= 24, jnp.nan, 0.0)
    metrics["train/gen_loss"] = metrics["train/gen_loss"] + bad
    return new, metrics

  monkeypatch.setattr(train, "train_step", poisoned)
  cfg = make_config(tmp_path, steps=40, log_every=10, eval_every=10, checkpoint_every=10)
  with pytest.raises(train.NonFiniteLossError, match="step 30"):
    experiment.run_experiment(cfg)
  assert Checkpointer(str(tmp_path)).latest_step() == 20
  rows = read_metrics(tmp_path)
  assert [r["step"] for r in rows] == [10, 20]
  assert not os.path.exists(tmp_path / "results.json")


def test_second_run_on_the_same_workdir_is_refused(tmp_path):
  cfg = make_config(tmp_path)
  with experiment.workdir_lock(cfg.workdir):
    with pytest.raises(InputError, match="in use by another run"):
      experiment.run_experiment(cfg)
  assert not os.path.exists(tmp_path / "metrics.jsonl")


def _cli(workdir, extra=(), stderr=None):
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  from conftest import EN_GLOVE, FR_FASTTEXT, ROOT  # pylint: disable=g-import-not-at-top
  args = [sys.executable, "-m", "clweadv.main", f"--src_emb={EN_GLOVE}", f"--tgt_emb={FR_FASTTEXT}",
          "--src_lang=en", "--tgt_lang=fr", "--max_vocab=1000", "--steps=200", "--log_every=50",
          "--eval_every=100", "--checkpoint_every=50", "--criterion_vocab=500",
          "--export_vocab=50", f"--workdir={workdir}", *extra]
  env = dict(os.environ, PYTHONPATH=ROOT)
  return lambda: subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                  stderr=stderr if stderr is not None else subprocess.DEVNULL)


def test_sigkill_then_resume_gives_the_same_results(tmp_path):
  import random  # pylint: disable=g-import-not-at-top
  import signal  # pylint: disable=g-import-not-at-top
  import time  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  straight = tmp_path / "straight"
  assert _cli(straight)().wait(timeout=600) == 0
  killed = tmp_path / "killed"
  proc = _cli(killed)()
  deadline = time.time() + 600
  while not os.path.isdir(killed / "checkpoints" / "100") and time.time() < deadline:
    time.sleep(0.05)
  time.sleep(random.Random(0).uniform(0.0, 1.5))  # Somewhere in the middle of training.
  proc.send_signal(signal.SIGKILL)
  proc.wait()
  assert _cli(killed)().wait(timeout=600) == 0
  a, b = (json.load(open(d / "results.json")) for d in (straight, killed))
  a.pop("wall_seconds"), b.pop("wall_seconds")
  assert a == b
  np.testing.assert_array_equal(np.load(straight / "mapping.npy"), np.load(killed / "mapping.npy"))
  rows = lambda d: [{k: v for k, v in r.items() if k not in ("steps_per_second", "valid/seconds")}
                    for r in read_metrics(d)]
  assert rows(straight) == rows(killed)


def test_sigint_and_sigterm_save_the_current_step_and_resume_to_the_same_results(tmp_path):
  import re  # pylint: disable=g-import-not-at-top
  import signal  # pylint: disable=g-import-not-at-top
  import subprocess  # pylint: disable=g-import-not-at-top
  import time  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  # Checkpoints only at the end: what survives the signal is the checkpoint the signal saved.
  extra = ["--steps=200", "--log_every=10", "--checkpoint_every=200"]
  signals = (signal.SIGINT, signal.SIGTERM)
  straight = tmp_path / "straight"
  runs = {s: tmp_path / s.name for s in signals}
  procs = {s: _cli(d, extra, stderr=subprocess.PIPE)() for s, d in runs.items()}
  for signum, proc in procs.items():  # Both signalled runs are interrupted in mid-training.
    metrics, deadline = runs[signum] / "metrics.jsonl", time.time() + 600
    while not metrics.exists() or not metrics.stat().st_size:
      assert time.time() < deadline and proc.poll() is None
      time.sleep(0.05)
    proc.send_signal(signum)
  for signum, proc in procs.items():
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 128 + signum, err[-2000:]
    last = err.decode().strip().splitlines()[-1]
    match = re.fullmatch(r"interrupted at step (\d+); resume with the same command", last)
    assert match, err[-2000:]
    step = int(match.group(1))
    assert 0 < step < 200 and step % 10 == 0
    assert Checkpointer(str(runs[signum])).latest_step() == step
    assert [r["step"] for r in read_metrics(runs[signum])][-1] == step
    assert not (runs[signum] / "results.json").exists()
  assert _cli(straight, extra)().wait(timeout=600) == 0
  resumed = [_cli(d, extra)() for d in runs.values()]
  assert [p.wait(timeout=600) for p in resumed] == [0, 0]
  for stopped in runs.values():
    a, b = (json.load(open(d / "results.json")) for d in (straight, stopped))
    a.pop("wall_seconds"), b.pop("wall_seconds")
    assert a == b
    np.testing.assert_array_equal(np.load(straight / "mapping.npy"),
                                  np.load(stopped / "mapping.npy"))


def test_a_failed_restore_restores_the_error_hooks(tmp_path):
  """After a damaged checkpoint (an InputError), a library caller's process reports background
  errors again: the hooks silenced during the restore are put back."""
  import sys  # pylint: disable=g-import-not-at-top
  import threading  # pylint: disable=g-import-not-at-top
  cfg = make_config(tmp_path, steps=20, log_every=10, eval_every=10, checkpoint_every=10,
                    export="false")
  experiment.run_experiment(cfg)
  for d, _, names in os.walk(tmp_path / "checkpoints" / "20"):
    for n in names:
      if os.sep + "d" + os.sep in os.path.join(d, n) + os.sep:
        with open(os.path.join(d, n), "r+b") as f:
          f.truncate(16)
  hooks = sys.unraisablehook, threading.excepthook
  with pytest.raises(InputError, match="damaged"):
    experiment.run_experiment(make_config(tmp_path, steps=40, log_every=10, eval_every=10,
                                          checkpoint_every=10, export="false"))
  assert (sys.unraisablehook, threading.excepthook) == hooks
