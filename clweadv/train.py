"""The adversarial autoencoder: train state, one jitted multi-step train step, the run loop."""

import dataclasses
import functools
from typing import Any, Optional

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from clweadv import models
from clweadv.normalize import normalize
from clweadv.sampling import sample_ids

# The per-step randomness (word sampling, dropout) uses XLA's RngBitGenerator ("rbg"): on CPU it
# made the whole step ~1.4x faster than threefry (benchmarks/bench_train.py).
STEP_PRNG = "rbg"
ACC_EMA_DECAY = 0.9      # EMA(0.1): new = 0.9 * old + 0.1 * accuracy.
ADV_MIN_ACC = 0.51       # Below: the generator trains on reconstruction + cosine only.
DISC_MAX_ACC = 0.99      # Above: both discriminators stop updating.


@flax.struct.dataclass
class TrainState:
  """Everything a run needs to continue: a pytree, checkpointed whole.

  The two discriminators are a pair: D0 (`disc_vars[0]`) trains the generator, D1 (another
  initialisation, same batches) only monitors. Their updates are two independent chains of
  kernels, which XLA's CPU runtime runs side by side on two cores (faster there than one
  `vmap`-ed chain; docs/speed.md).
  """
  step: jnp.ndarray
  gen_params: Any
  gen_opt_state: Any
  disc_vars: Any          # (D0, D1), each {'params', 'batch_stats'}.
  disc_opt_state: Any     # (D0's, D1's).
  acc_ema: jnp.ndarray    # EMA of D0's accuracy (the skip logic).
  rng: jnp.ndarray        # Raw uint32 key data of an `rbg` key; step t uses fold_in(rng, t).


@flax.struct.dataclass
class Data:
  """Preprocessed embeddings and sampling CDFs, on device."""
  src_NxD: jnp.ndarray
  tgt_MxE: jnp.ndarray
  src_cdf_N: jnp.ndarray
  tgt_cdf_M: jnp.ndarray


@dataclasses.dataclass(frozen=True)
class Setup:
  """The static parts of a step: modules, optimizers and loss settings."""
  generator: nn.Module
  discriminator: nn.Module
  gen_tx: optax.GradientTransformation
  disc_tx: optax.GradientTransformation
  batch_size: int
  lambda_r: float
  lambda_a: float
  lambda_c: float
  skip_logic: bool
  has_decoder: bool
  mesh: Optional[Mesh] = None   # Data parallelism over its "data" axis when it has > 1 device.
  # Beyond the paper (their defaults are the paper's game): orthogonalisation of the linear
  # encoder after each generator update, discriminator updates per generator update, label
  # smoothing of the discriminator's targets.
  ortho_beta: float = 0.0
  disc_steps: int = 1
  label_smoothing: float = 0.0


def make_mesh(devices=None):
  """One mesh over all (or the given) devices, axis "data"."""
  return Mesh(np.array(devices if devices is not None else jax.devices()), ("data",))


def replicate(tree, mesh):
  """Places a pytree on every device of the mesh (parameters and data are replicated)."""
  if mesh is None or mesh.size == 1:
    return tree
  return jax.device_put(tree, NamedSharding(mesh, PartitionSpec()))


def _shard_batch(x_BxD, mesh):
  if mesh is None or mesh.size == 1:
    return x_BxD
  return jax.lax.with_sharding_constraint(x_BxD, NamedSharding(mesh, PartitionSpec("data")))


def generator_lr(cfg, *, d_src, d_tgt):
  """--gen_lr, scaled by sqrt(--gen_lr_dim / d) when --gen_lr_dim is set: Adam moves every
  entry of the encoder by about its learning rate whatever the gradient's scale, and the entries
  of an orthogonal d x d map are about 1/sqrt(d), so the same rate is a larger, noisier rotation
  step in more dimensions (in 300 dimensions 0.001 never aligned English corpus halves; about
  0.0005 did: docs/methods.md)."""
  if not cfg.gen_lr_dim:
    return cfg.gen_lr
  return cfg.gen_lr * float(np.sqrt(cfg.gen_lr_dim / max(d_src, d_tgt)))


def make_setup(cfg, *, d_src, d_tgt, mesh=None):
  generator = models.make_generator(cfg.model, d_src=d_src, d_tgt=d_tgt,
                                    deep_hidden=cfg.deep_hidden)
  discriminator = models.ResNetDiscriminator(width=cfg.disc_width, blocks=cfg.disc_blocks,
                                             residual=(cfg.disc_arch == "resnet"),
                                             input_dropout=cfg.disc_input_dropout)
  gan = cfg.model == "gan"
  return Setup(generator=generator, discriminator=discriminator,
               # optax.flatten: one fused Adam update over all leaves instead of one per leaf.
               gen_tx=optax.flatten(optax.adam(generator_lr(cfg, d_src=d_src, d_tgt=d_tgt))),
               disc_tx=optax.flatten(optax.adam(cfg.disc_lr)),
               batch_size=cfg.batch_size,
               # The GAN-only baseline trains the generator on the adversarial loss alone.
               lambda_r=0.0 if gan else cfg.lambda_r, lambda_a=cfg.lambda_a,
               lambda_c=0.0 if gan else cfg.lambda_c,
               skip_logic=cfg.skip_logic, has_decoder=not gan, mesh=mesh,
               ortho_beta=cfg.ortho_beta, disc_steps=cfg.disc_steps,
               label_smoothing=cfg.label_smoothing)


def create_train_state(setup, *, seed, d_src, d_tgt):
  rng = jax.random.PRNGKey(seed)
  k_gen, k_disc, k_run = jax.random.split(rng, 3)
  gen_params = setup.generator.init(k_gen, jnp.zeros((1, d_src)))["params"]
  x = jnp.zeros((2, d_tgt))
  disc_vars = tuple(setup.discriminator.init(k, x, train=False)
                    for k in jax.random.split(k_disc, 2))
  return TrainState(
      step=jnp.zeros((), jnp.int32), gen_params=gen_params,
      gen_opt_state=setup.gen_tx.init(gen_params),
      disc_vars=disc_vars, disc_opt_state=tuple(setup.disc_tx.init(v["params"])
                                                for v in disc_vars),
      acc_ema=jnp.asarray(0.5, jnp.float32),
      rng=jax.random.key_data(jax.random.key(jax.random.bits(k_run), impl=STEP_PRNG)))


def mean_cosine(a_BxD, b_BxD):
  """Mean row-wise cosine similarity."""
  num = jnp.sum(a_BxD * b_BxD, axis=-1)
  den = jnp.linalg.norm(a_BxD, axis=-1) * jnp.linalg.norm(b_BxD, axis=-1)
  return jnp.mean(num / jnp.maximum(den, 1e-8))


def _disc_update(setup, variables, opt_state, key, x_BxD, labels_B, enabled):
  """One discriminator update on tanh inputs (dropout and batch statistics on)."""
  def loss_fn(params):
    logits, updates = setup.discriminator.apply(
        {"params": params, "batch_stats": variables["batch_stats"]}, x_BxD, train=True,
        rngs={"dropout": key}, mutable=["batch_stats"])
    loss = jnp.mean(optax.sigmoid_binary_cross_entropy(logits, labels_B))
    acc = jnp.mean((logits > 0) == (labels_B > 0.5))
    return loss, (acc, updates["batch_stats"])
  (loss, (acc, stats)), grads = jax.value_and_grad(loss_fn, has_aux=True)(variables["params"])
  updates, new_opt = setup.disc_tx.update(grads, opt_state, variables["params"])
  new_vars = {"params": optax.apply_updates(variables["params"], updates), "batch_stats": stats}
  keep = lambda new, old: jax.tree_util.tree_map(lambda n, o: jnp.where(enabled, n, o), new, old)
  return keep(new_vars, variables), keep(new_opt, opt_state), loss, acc


def generator_loss(setup, gen_params, disc_vars, src_BxD, tgt_BxE, adv_on):
  """λr (1 - cos(f, R(G(f)))) - λa log p + λc (1 - cos(e, G(f))), p = D0's P(target | G(f)).

  Returns (loss, (reconstruction, adversarial, cosine)).
  """
  mapped, recon = setup.generator.apply({"params": gen_params}, src_BxD)
  recon_loss = 1.0 - mean_cosine(src_BxD, recon) if setup.has_decoder else jnp.float32(0.0)
  # D0 judges deterministically here (no dropout, running statistics), as in the original.
  logit = setup.discriminator.apply(disc_vars[0], jnp.tanh(mapped), train=False)
  adv_loss = jnp.mean(jax.nn.softplus(logit))  # -log(1 - D(tanh(G(f)))): label 1 = mapped.
  cos_loss = 1.0 - mean_cosine(mapped, tgt_BxE)
  total = (setup.lambda_r * recon_loss + setup.lambda_a * adv_on * adv_loss
           + setup.lambda_c * cos_loss)
  return total, (recon_loss, adv_loss, cos_loss)


def orthogonalize(kernel_DxE, *, beta):
  """One step of W <- (1 + beta) W - beta (W W^T) W towards (semi-)orthogonal rows or columns
  (MUSE's update after each mapping step)."""
  return (1.0 + beta) * kernel_DxE - beta * (kernel_DxE @ kernel_DxE.T) @ kernel_DxE


def train_step(setup, state, data):
  """One generator update, then `disc_steps` updates of D0 (the first on the generator's batch,
  the others on fresh ones) and one of the monitor D1. Returns (state, metrics)."""
  key = jax.random.fold_in(jax.random.wrap_key_data(state.rng, impl=STEP_PRNG), state.step)
  k_src, k_tgt, k_disc = jax.random.split(key, 3)
  b = setup.batch_size
  # The batch is split over the mesh's devices; every reduction (losses, batch norm) stays global.
  sample = lambda k_s, k_t: (
      _shard_batch(data.src_NxD[sample_ids(k_s, data.src_cdf_N, n=b)], setup.mesh),
      _shard_batch(data.tgt_MxE[sample_ids(k_t, data.tgt_cdf_M, n=b)], setup.mesh))
  src, tgt = sample(k_src, k_tgt)
  if setup.skip_logic:
    adv_on = (state.acc_ema >= ADV_MIN_ACC).astype(jnp.float32)
    disc_on = state.acc_ema <= DISC_MAX_ACC
  else:
    adv_on, disc_on = jnp.float32(1.0), jnp.bool_(True)

  (gen_loss, (recon_loss, adv_loss, cos_loss)), grads = jax.value_and_grad(
      generator_loss, argnums=1, has_aux=True)(setup, state.gen_params, state.disc_vars, src, tgt,
                                               adv_on)
  updates, gen_opt_state = setup.gen_tx.update(grads, state.gen_opt_state, state.gen_params)
  gen_params = optax.apply_updates(state.gen_params, updates)
  if setup.ortho_beta:
    gen_params = dict(gen_params, kernel=orthogonalize(gen_params["kernel"],
                                                       beta=setup.ortho_beta))

  s = setup.label_smoothing
  labels = jnp.concatenate([jnp.full((b,), 1.0 - s), jnp.full((b,), s)])
  disc_vars, disc_opt = list(state.disc_vars), list(state.disc_opt_state)
  d_loss, d_acc = [None, None], [None, None]
  for i in range(setup.disc_steps):
    k_step = k_disc
    if i:  # Fresh batches (the first update's keys are the paper's game's, unchanged).
      k_s, k_t, k_step = jax.random.split(jax.random.fold_in(k_disc, i), 3)
      src, tgt = sample(k_s, k_t)
    mapped = setup.generator.apply({"params": gen_params}, src,
                                   method=setup.generator.encode)
    x = jnp.tanh(jnp.concatenate([jax.lax.stop_gradient(mapped), tgt], axis=0))
    keys = jax.random.split(k_step, 2)
    # D0 takes every update; the monitor D1 only the first (it never feeds the generator).
    for j in ((0, 1) if i == 0 else (0,)):
      disc_vars[j], disc_opt[j], d_loss[j], d_acc[j] = _disc_update(
          setup, disc_vars[j], disc_opt[j], keys[j], x, labels, disc_on)
  new_state = state.replace(
      step=state.step + 1, gen_params=gen_params, gen_opt_state=gen_opt_state,
      disc_vars=tuple(disc_vars), disc_opt_state=tuple(disc_opt),
      acc_ema=ACC_EMA_DECAY * state.acc_ema + (1 - ACC_EMA_DECAY) * d_acc[0])
  metrics = {
      "train/gen_loss": gen_loss, "train/recon_loss": recon_loss, "train/adv_loss": adv_loss,
      "train/cos_loss": cos_loss, "train/gen_grad_norm": optax.tree.norm(grads),
      "train/disc_loss": d_loss[0], "train/disc_acc": d_acc[0],
      "monitor/disc_loss": d_loss[1], "monitor/disc_acc": d_acc[1],
      "train/adv_active": adv_on, "train/disc_active": disc_on.astype(jnp.float32),
  }
  return new_state, metrics


def make_train_steps(setup, n_steps, *, restarts=1):
  """A jitted function running `n_steps` train steps in one call (lax.scan), state donated.

  With `restarts` > 1 the state holds that many independent runs (a leading axis, see
  `create_restart_states`), advanced side by side by one vmapped step.

  Returns (state, metrics averaged over the steps; per run with restarts).
  """
  @functools.partial(jax.jit, donate_argnums=(0,))
  def train_steps(state, data):
    step = lambda s: train_step(setup, s, data)
    if restarts > 1:
      step = jax.vmap(step)
    state, metrics = jax.lax.scan(lambda s, _: step(s), state, None, length=n_steps, unroll=2)
    return state, jax.tree_util.tree_map(lambda m: jnp.mean(m, axis=0), metrics)
  return train_steps


def create_restart_states(setup, *, seeds, d_src, d_tgt):
  """The train states of several independent runs (one per seed), stacked on a leading axis."""
  states = [create_train_state(setup, seed=s, d_src=d_src, d_tgt=d_tgt) for s in seeds]
  if len(states) == 1:
    return states[0]
  return jax.tree_util.tree_map(lambda *x: jnp.stack(x), *states)


def take(tree, i):
  """Run `i` of a stacked pytree (`create_restart_states`)."""
  return jax.tree_util.tree_map(lambda x: x[i], tree)


def encode_all(setup, gen_params, x_NxD, *, block=8192):
  """Maps a whole vocabulary (in blocks) with the encoder."""
  fn = _encoder_fn(setup.generator)
  out = [fn(gen_params, jnp.asarray(x_NxD[i:i + block])) for i in range(0, len(x_NxD), block)]
  return np.asarray(jnp.concatenate(out)) if out else np.zeros((0, 0), np.float32)


@functools.lru_cache(maxsize=None)
def _encoder_fn(generator):
  return jax.jit(lambda p, x: generator.apply({"params": p}, x, method=generator.encode))


class NonFiniteLossError(Exception):
  """The loss became NaN or infinite; the run stops, keeping the last good checkpoint."""


def preprocess(x_NxD, *, normalize_steps, standardize, center_n=None):
  """The input space of the model: optional normalisation (`center` over the first `center_n`
  rows, see `normalize`), then per-dimension standardisation."""
  x = np.asarray(x_NxD, np.float32)
  if normalize_steps:
    x = np.asarray(normalize(x, steps=normalize_steps, center_n=center_n), np.float32)
  if standardize:
    std = x.std(axis=0)
    x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
  return x.astype(np.float32)
