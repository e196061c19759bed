"""Pure-functional Flax modules: the tied linear autoencoder, its deep variant, discriminators.

All modules are used through `model.apply(variables, x, ...)`; nothing holds state.
"""

import functools
import math

import flax.linen as nn
import jax
import jax.numpy as jnp

LEAK = 0.01
# Lasagne's GlorotUniform(gain=sqrt(2 / (1 + leak^2))) used by the original discriminator.
_GAIN = math.sqrt(2.0 / (1.0 + LEAK ** 2))
glorot_leaky = nn.initializers.variance_scaling(_GAIN ** 2, "fan_avg", "uniform")


class LinearAutoencoder(nn.Module):
  """Encoder x -> x W + b_enc (d_src -> d_tgt), tied decoder y -> y W^T + b_dec.

  W starts (semi-)orthogonal, as in the paper.
  """
  d_src: int
  d_tgt: int

  def setup(self):
    self.kernel = self.param("kernel", nn.initializers.orthogonal(), (self.d_src, self.d_tgt))
    self.enc_bias = self.param("enc_bias", nn.initializers.zeros, (self.d_tgt,))
    self.dec_bias = self.param("dec_bias", nn.initializers.zeros, (self.d_src,))

  def encode(self, x_BxD):
    return x_BxD @ self.kernel + self.enc_bias

  def decode(self, y_BxE):
    return y_BxE @ self.kernel.T + self.dec_bias

  def __call__(self, x_BxD):
    y = self.encode(x_BxD)
    return y, self.decode(y)


class DeepAutoencoder(nn.Module):
  """The non-linear encoder/decoder the paper tried: untied MLPs with leaky ReLU.

  Without a decoder it is the generator of the GAN-only baseline.
  """
  d_src: int
  d_tgt: int
  hidden: int = 300
  layers: int = 2
  with_decoder: bool = True

  def setup(self):
    def mlp(out, name):
      dense = [nn.Dense(self.hidden, kernel_init=nn.initializers.orthogonal(), name=f"{name}_{i}")
               for i in range(self.layers - 1)]
      return dense + [nn.Dense(out, kernel_init=nn.initializers.orthogonal(),
                               name=f"{name}_{self.layers - 1}")]
    self.enc_layers = mlp(self.d_tgt, "enc")
    if self.with_decoder:
      self.dec_layers = mlp(self.d_src, "dec")

  @staticmethod
  def _run(layers, x):
    for layer in layers[:-1]:
      x = nn.leaky_relu(layer(x), LEAK)
    return layers[-1](x)

  def encode(self, x_BxD):
    return self._run(self.enc_layers, x_BxD)

  def decode(self, y_BxE):
    return self._run(self.dec_layers, y_BxE)

  def __call__(self, x_BxD):
    y = self.encode(x_BxD)
    return y, (self.decode(y) if self.with_decoder else None)


BN_MOMENTUM = 0.9   # Lasagne's batch_norm: alpha=0.1 on the running statistics.
BN_EPSILON = 1e-4


@jax.custom_vjp
def _normalize_batch(x_BxK, scale_K, bias_K):
  """(x - mean) / sqrt(var + eps) * scale + bias over the batch axis, and (mean, var).

  The same values as autodiff of the textbook formula, with a hand-written backward pass of two
  reductions (the sums of dy and of dy * x_hat); at the discriminator's size the step's cost is
  the number of XLA kernels, and autodiff's backward pass has more.
  """
  return _normalize_fwd(x_BxK, scale_K, bias_K)[0]


def _normalize_fwd(x_BxK, scale_K, bias_K):
  mean_K = jnp.mean(x_BxK, axis=0)
  var_K = jnp.maximum(jnp.mean(jnp.square(x_BxK), axis=0) - jnp.square(mean_K), 0.0)
  inv_K = jax.lax.rsqrt(var_K + BN_EPSILON)
  xhat_BxK = (x_BxK - mean_K) * inv_K
  return (xhat_BxK * scale_K + bias_K, mean_K, var_K), (xhat_BxK, inv_K, scale_K)


def _normalize_bwd(res, cotangents):
  xhat_BxK, inv_K, scale_K = res
  dy_BxK = cotangents[0]  # mean and var only feed the running statistics (stop_gradient).
  dbias_K = jnp.sum(dy_BxK, axis=0)
  dscale_K = jnp.sum(dy_BxK * xhat_BxK, axis=0)
  n = xhat_BxK.shape[0]
  dx_BxK = (scale_K * inv_K / n) * (n * dy_BxK - dbias_K - xhat_BxK * dscale_K)
  return dx_BxK, dscale_K, dbias_K


_normalize_batch.defvjp(_normalize_fwd, _normalize_bwd)


class BatchNorm(nn.Module):
  """Batch normalisation over axis 0 with Flax's variable layout (`params`: scale, bias;
  `batch_stats`: mean, var), Lasagne's settings, and a two-reduction backward pass."""

  @nn.compact
  def __call__(self, x_BxK, *, train):
    k = x_BxK.shape[-1]
    scale = self.param("scale", nn.initializers.ones, (k,))
    bias = self.param("bias", nn.initializers.zeros, (k,))
    ra_mean = self.variable("batch_stats", "mean", lambda: jnp.zeros((k,), jnp.float32))
    ra_var = self.variable("batch_stats", "var", lambda: jnp.ones((k,), jnp.float32))
    if not train:
      return (x_BxK - ra_mean.value) * jax.lax.rsqrt(ra_var.value + BN_EPSILON) * scale + bias
    y, mean, var = _normalize_batch(x_BxK, scale, bias)
    if not self.is_initializing():
      mean, var = jax.lax.stop_gradient(mean), jax.lax.stop_gradient(var)
      ra_mean.value = BN_MOMENTUM * ra_mean.value + (1.0 - BN_MOMENTUM) * mean
      ra_var.value = BN_MOMENTUM * ra_var.value + (1.0 - BN_MOMENTUM) * var
    return y


def _bn(train, name=None):
  return functools.partial(BatchNorm(name=name), train=train)


def _hash_bits(key, shape):
  """Uniform uint32s for all dropout masks of a pass: a counter-based hash (MurmurHash3's
  32-bit finaliser of counter + seed), seeded by one draw from `key`.

  At this network size XLA's random-bit generators cost more on CPU than the network itself
  (benchmarks/bench_train.py); this fuses into a few vectorised integer ops.
  """
  seed = jax.random.bits(key, (), jnp.uint32)
  x = jax.lax.iota(jnp.uint32, math.prod(shape)) * jnp.uint32(0x9E3779B9) + seed
  x = (x ^ (x >> 16)) * jnp.uint32(0x85EBCA6B)
  x = (x ^ (x >> 13)) * jnp.uint32(0xC2B2AE35)
  return (x ^ (x >> 16)).reshape(shape)


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _dropout(h_BxK, keep_BxK, rate):
  """Inverted dropout: kept units scaled by 1 / (1 - rate), the others 0.

  The backward pass reads which units were kept from the output (non-zero) instead of the mask:
  XLA would otherwise recompute the mask's hash inside each backward kernel that uses it. The
  two differ only where a kept unit's input is exactly 0.0, whose gradient this sets to 0.
  """
  return jnp.where(keep_BxK, h_BxK / (1.0 - rate), 0.0)


def _dropout_fwd(h_BxK, keep_BxK, rate):
  out = _dropout(h_BxK, keep_BxK, rate)
  return out, out


def _dropout_bwd(rate, out_BxK, dout_BxK):
  return jnp.where(out_BxK != 0.0, dout_BxK / (1.0 - rate), 0.0), None


_dropout.defvjp(_dropout_fwd, _dropout_bwd)


class ResNetDiscriminator(nn.Module):
  """The original's residual discriminator; returns the logit of p(input is mapped source).

  entry: Dense(k)+BN+leaky ReLU; T blocks h <- h + leaky(BN(Dense(dropout_0.3(h))));
  output: dropout 0.1 -> Dense(1) -> BN on the logit. Dense layers feeding BN have no bias.
  `residual=False` drops the skip connections (a plain MLP of the same size).
  """
  width: int = 40
  blocks: int = 10
  residual: bool = True
  block_dropout: float = 0.3
  out_dropout: float = 0.1
  input_dropout: float = 0.0   # Beyond the paper: dropout on the input (MUSE: 0.1).

  @nn.compact
  def __call__(self, x_BxD, *, train):
    dense = lambda n, name: nn.Dense(n, use_bias=False, kernel_init=glorot_leaky, name=name)
    if train:
      bits = _hash_bits(self.make_rng("dropout"), (self.blocks + 1, x_BxD.shape[0],
                                                   self.width))
    def dropout(h, rate, i):
      if not train or rate == 0.0:
        return h
      return _dropout(h, bits[i] >= jnp.uint32(round(rate * 2 ** 32)), rate)
    if train and self.input_dropout:
      keep = _hash_bits(self.make_rng("dropout"), x_BxD.shape) >= jnp.uint32(
          round(self.input_dropout * 2 ** 32))
      x_BxD = _dropout(x_BxD, keep, self.input_dropout)
    h = nn.leaky_relu(_bn(train, "entry_bn")(dense(self.width, "entry")(x_BxD)), LEAK)
    for t in range(self.blocks):
      u = dropout(h, self.block_dropout, t)
      u = nn.leaky_relu(_bn(train, f"block{t}_bn")(dense(self.width, f"block{t}")(u)), LEAK)
      h = h + u if self.residual else u
    h = dropout(h, self.out_dropout, self.blocks)
    logit = _bn(train, "out_bn")(dense(1, "out")(h))
    return logit[:, 0]


def make_generator(kind, *, d_src, d_tgt, deep_hidden=300):
  """aae: tied linear autoencoder; deep_aae: non-linear autoencoder; gan: the non-linear
  generator alone (no decoder), the paper's failing baseline."""
  if kind in ("deep_aae", "gan"):
    return DeepAutoencoder(d_src=d_src, d_tgt=d_tgt, hidden=deep_hidden,
                           with_decoder=(kind == "deep_aae"))
  return LinearAutoencoder(d_src=d_src, d_tgt=d_tgt)


def count_params(tree):
  return sum(int(x.size) for x in jax.tree_util.tree_leaves(tree))
