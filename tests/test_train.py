"""The train step and the run loop on real slices: learning, tracing, collapse, resume."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from clweadv import experiment, train
from clweadv.embeddings import read_embeddings
from clweadv.metrics import read_metrics
from clweadv.sampling import cdf_from_probabilities, sampling_probabilities, zipf_counts

from conftest import EN_GLOVE, FR_FASTTEXT, make_config


@pytest.fixture(scope="module")
def data():
  prep = lambda path: train.preprocess(read_embeddings(path, max_vocab=2000).vectors,
                                       normalize_steps=(), standardize=True)
  src, tgt = prep(EN_GLOVE), prep(FR_FASTTEXT)
  cdf = lambda n: jnp.asarray(cdf_from_probabilities(
      sampling_probabilities(zipf_counts(n), kind="faithful")))
  return train.Data(src_NxD=jnp.asarray(src), tgt_MxE=jnp.asarray(tgt),
                    src_cdf_N=cdf(len(src)), tgt_cdf_M=cdf(len(tgt)))


def _setup(tmp_path, **overrides):
  cfg = make_config(tmp_path, **overrides)
  return cfg, train.make_setup(cfg, d_src=50, d_tgt=300)


def test_train_step_lowers_generator_loss_and_traces_once(tmp_path, data):
  # Discriminators all but frozen (tiny learning rate) and the adversarial term always on: the
  # whole λr/λa/λc loss against a fixed discriminator must fall under the generator's updates.
  _, setup = _setup(tmp_path, disc_lr=1e-12, skip_logic=False)
  state = train.create_train_state(setup, seed=0, d_src=50, d_tgt=300)
  fn = train.make_train_steps(setup, 25)
  src, tgt = data.src_NxD[:1000], data.tgt_MxE[:1000]  # A fixed evaluation batch.
  loss = lambda s: float(train.generator_loss(setup, s.gen_params, s.disc_vars, src, tgt, 1.0)[0])
  losses = [loss(state)]
  for _ in range(8):
    state, _ = fn(state, data)
    losses.append(loss(state))
  assert fn._cache_size() == 1  # Compiled once, reused for every call.
  assert int(state.step) == 200
  # losses[0] uses D0's initial running statistics (mean 0, var 1), which the first updates
  # replace (batch statistics move whatever the learning rate): compare from there on.
  assert losses[-1] < losses[1] - 0.05, losses
  assert losses[-1] < losses[4] < losses[1], losses


def test_restarts_run_side_by_side(tmp_path, data):
  """`--restarts`: independent runs advanced by one vmapped call, each from its own seed.

  (Their random draws come from XLA's `rbg` generator, whose bits under vmap depend on the
  whole batch of keys: a restart is not bit-identical to the separate run of its seed.)"""
  _, setup = _setup(tmp_path, disc_steps=2, ortho_beta=0.01)
  stacked = train.create_restart_states(setup, seeds=[3, 4], d_src=50, d_tgt=300)
  k0, k1 = (np.asarray(train.take(stacked, r).gen_params["kernel"]) for r in (0, 1))
  single = train.create_train_state(setup, seed=4, d_src=50, d_tgt=300)
  np.testing.assert_array_equal(k1, np.asarray(single.gen_params["kernel"]))
  fn = train.make_train_steps(setup, 20, restarts=2)
  stacked, metrics = fn(stacked, data)
  assert fn._cache_size() == 1
  assert int(stacked.step[0]) == int(stacked.step[1]) == 20
  assert metrics["train/disc_acc"].shape == (2,)
  moved = [np.abs(np.asarray(train.take(stacked, r).gen_params["kernel"]) - k).max()
           for r, k in enumerate((k0, k1))]
  assert min(moved) > 1e-3, moved  # Both runs train.
  assert not np.allclose(np.asarray(train.take(stacked, 0).gen_params["kernel"]),
                         np.asarray(train.take(stacked, 1).gen_params["kernel"]))


def test_orthogonalize_keeps_the_encoder_near_orthonormal(tmp_path, data):
  """--ortho_beta pulls the encoder's rows back towards orthonormal (50 -> 300: W W^T = I)
  while the paper's loss trains it; without it they drift further."""
  w = jnp.asarray(np.diag(np.linspace(0.5, 1.5, 50)).astype(np.float32))
  for _ in range(100):  # Singular values 0.5-1.5 are driven to 1.
    w = train.orthogonalize(w, beta=0.1)
  np.testing.assert_allclose(np.asarray(w), np.eye(50), atol=1e-3)
  drift = {}
  for beta in (0.0, 0.01):
    _, setup = _setup(tmp_path, ortho_beta=beta)
    state = train.create_train_state(setup, seed=0, d_src=50, d_tgt=300)
    state, _ = train.make_train_steps(setup, 100)(state, data)
    w = np.asarray(state.gen_params["kernel"])
    drift[beta] = np.abs(w @ w.T - np.eye(50)).max()
  assert drift[0.01] < 0.5 * drift[0.0], drift


def test_generator_rate_scales_with_dimension(tmp_path):
  """--gen_lr_dim=N: --gen_lr at N dimensions, sqrt(N/d) of it at d (the larger side); off: the
  rate at every dimension."""
  cfg = make_config(tmp_path, gen_lr=0.001, gen_lr_dim=100)
  assert train.generator_lr(cfg, d_src=100, d_tgt=100) == pytest.approx(0.001)
  assert train.generator_lr(cfg, d_src=50, d_tgt=400) == pytest.approx(0.0005)
  assert train.generator_lr(cfg, d_src=25, d_tgt=25) == pytest.approx(0.002)
  cfg = make_config(tmp_path, gen_lr=0.001, gen_lr_dim=0)
  assert train.generator_lr(cfg, d_src=300, d_tgt=300) == 0.001


def test_monitor_discriminator_learns_on_its_own(tmp_path, data):
  _, setup = _setup(tmp_path)
  state = train.create_train_state(setup, seed=0, d_src=50, d_tgt=300)
  state, metrics = train.make_train_steps(setup, 100)(state, data)
  # Same batches, different initialisation, never fed back to the generator.
  assert float(metrics["monitor/disc_acc"]) > 0.6
  d0, d1 = (v["params"] for v in state.disc_vars)
  assert not np.allclose(np.asarray(d0["entry"]["kernel"]), np.asarray(d1["entry"]["kernel"]))


def test_skip_logic_freezes_discriminators_above_threshold(tmp_path, data):
  _, setup = _setup(tmp_path)
  state = train.create_train_state(setup, seed=0, d_src=50, d_tgt=300)
  state = state.replace(acc_ema=jnp.float32(0.995))
  new, metrics = train.train_step(setup, state, data)
  assert float(metrics["train/disc_active"]) == 0.0
  same = jax.tree_util.tree_map(lambda a, b: bool(jnp.all(a == b)), new.disc_vars, state.disc_vars)
  assert all(jax.tree_util.tree_leaves(same))
  low = state.replace(acc_ema=jnp.float32(0.3))
  _, metrics = train.train_step(setup, low, data)
  assert float(metrics["train/adv_active"]) == 0.0 and float(metrics["train/disc_active"]) == 1.0


def _results(workdir):
  with open(os.path.join(workdir, "results.json")) as f:
    r = json.load(f)
  r.pop("wall_seconds")
  rows = [json.loads(l) for l in open(os.path.join(workdir, "metrics.jsonl"))]
  for row in rows:
    row.pop("steps_per_second", None)  # Timings differ from run to run.
    row.pop("valid/seconds", None)
  return r, rows, np.load(os.path.join(workdir, "mapping.npy"))


def test_resume_is_bit_for_bit(tmp_path):
  straight = tmp_path / "straight"
  experiment.run_experiment(make_config(straight, steps=200))
  resumed = tmp_path / "resumed"
  experiment.run_experiment(make_config(resumed, steps=100))
  experiment.run_experiment(make_config(resumed, steps=200))
  a, b = _results(straight), _results(resumed)
  assert a[0] == b[0]
  assert a[1] == b[1]
  np.testing.assert_array_equal(a[2], b[2])
  assert a[0]["selected_step"] in (100, 200)
  assert {"vectors-en.vec", "vectors-fr.vec", "dictionary.en-fr.tsv", "neighbours.md",
          "config.json"} <= set(os.listdir(straight))


def test_gan_collapses_while_the_autoencoder_keeps_diversity(tmp_path):
  """The paper's failure mode, on the same real slice, seed and learning rates."""
  common = dict(steps=2000, log_every=500, eval_every=500, checkpoint_every=2000, gen_lr=0.01,
                skip_logic="false", export="false")
  curves = {}
  for model in ("gan", "aae"):
    experiment.run_experiment(make_config(tmp_path / model, model=model, **common))
    curves[model] = [row["valid/diversity"] for row in read_metrics(tmp_path / model)
                     if "valid/diversity" in row]
  assert len(curves["gan"]) == 4
  # Near-constant outputs (mean pairwise cosine ~ 1) within 500 steps, for most of the run; a
  # collapsed generator can later escape for a while (experiments/REPRODUCTION.md, claim 1).
  assert curves["gan"][0] > 0.95, curves
  assert sum(c > 0.85 for c in curves["gan"]) >= 3, curves
  assert max(curves["aae"]) < 0.5, curves  # The reconstruction term keeps information.
