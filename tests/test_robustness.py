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
