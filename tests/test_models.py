"""The Flax modules: shapes, tied weights, orthogonal init, the discriminator's layout."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from clweadv import models


def test_linear_autoencoder_is_tied_and_semi_orthogonal():
  g = models.LinearAutoencoder(d_src=50, d_tgt=300)
  params = g.init(jax.random.PRNGKey(0), jnp.zeros((1, 50)))["params"]
  assert set(params) == {"kernel", "enc_bias", "dec_bias"}  # One matrix, two biases.
  W = np.asarray(params["kernel"])
  assert W.shape == (50, 300)
  np.testing.assert_allclose(W @ W.T, np.eye(50), atol=1e-5)  # Semi-orthogonal rows.
  x = jax.random.normal(jax.random.PRNGKey(1), (7, 50))
  y, r = g.apply({"params": params}, x)
  assert y.shape == (7, 300) and r.shape == (7, 50)
  # The decoder is the transpose of the encoder: with zero biases, decode(encode(x)) = x W W^T.
  np.testing.assert_allclose(np.asarray(r), np.asarray(x) @ W @ W.T, rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(np.asarray(r), np.asarray(x), atol=1e-4)


def test_gan_generator_has_no_decoder():
  g = models.make_generator("gan", d_src=40, d_tgt=40)
  params = g.init(jax.random.PRNGKey(0), jnp.zeros((1, 40)))["params"]
  assert params and all(name.startswith("enc_") for name in params)
  y, r = g.apply({"params": params}, jnp.ones((3, 40)))
  assert y.shape == (3, 40) and r is None


def test_deep_autoencoder_shapes():
  g = models.make_generator("deep_aae", d_src=40, d_tgt=100, deep_hidden=64)
  params = g.init(jax.random.PRNGKey(0), jnp.zeros((1, 40)))["params"]
  y, r = g.apply({"params": params}, jnp.ones((5, 40)))
  assert y.shape == (5, 100) and r.shape == (5, 40)


@pytest.mark.parametrize("d,k,t", [(100, 40, 10), (40, 40, 4)])
def test_discriminator_layout(d, k, t):
  disc = models.ResNetDiscriminator(width=k, blocks=t)
  v = disc.init(jax.random.PRNGKey(0), jnp.zeros((4, d)), train=False)
  # Entry Dense(d->k, no bias) + BN(k); T x [Dense(k->k, no bias) + BN(k)]; Dense(k->1) + BN(1).
  expected = d * k + 2 * k + t * (k * k + 2 * k) + k + 2
  assert models.count_params(v["params"]) == expected
  if (d, k, t) == (100, 40, 10):
    assert expected == 20922
  assert set(v["batch_stats"]) == ({"entry_bn", "out_bn"} | {f"block{i}_bn" for i in range(t)})
  logits, _ = disc.apply(v, jnp.ones((6, d)), train=True, rngs={"dropout": jax.random.PRNGKey(1)},
                         mutable=["batch_stats"])
  assert logits.shape == (6,)


def test_dropout_only_in_training():
  disc = models.ResNetDiscriminator(width=16, blocks=2)
  x = jax.random.normal(jax.random.PRNGKey(2), (32, 8))
  v = disc.init(jax.random.PRNGKey(0), x, train=False)
  a = disc.apply(v, x, train=False)
  b = disc.apply(v, x, train=False)
  np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  run = lambda key: disc.apply(v, x, train=True, rngs={"dropout": key}, mutable=["batch_stats"])[0]
  assert not np.allclose(np.asarray(run(jax.random.PRNGKey(3))), np.asarray(run(jax.random.PRNGKey(4))))


def test_mlp_discriminator_has_same_size():
  x = jnp.zeros((4, 30))
  res = models.ResNetDiscriminator(width=20, blocks=3, residual=True)
  mlp = models.ResNetDiscriminator(width=20, blocks=3, residual=False)
  count = lambda m: models.count_params(m.init(jax.random.PRNGKey(0), x, train=False)["params"])
  assert count(res) == count(mlp)


def test_dropout_masks_have_the_requested_rate():
  bits = models._hash_bits(jax.random.PRNGKey(5), (11, 256, 40))  # pylint: disable=protected-access
  for rate in (0.1, 0.3):
    keep = np.asarray(bits >= np.uint32(round(rate * 2 ** 32)))
    assert abs(keep.mean() - (1 - rate)) < 0.005
    # Masks of different layers and rows are not copies of each other.
    assert 0.3 < (keep[0] == keep[1]).mean() < 0.9
  other = models._hash_bits(jax.random.PRNGKey(6), (11, 256, 40))  # pylint: disable=protected-access
  assert (np.asarray(bits) != np.asarray(other)).mean() > 0.99


def test_batch_norm_matches_flax_forward_backward_and_running_stats():
  """The hand-written backward pass equals autodiff of Flax's BatchNorm (Lasagne's settings),
  on real GloVe rows through a dense layer, with non-trivial scale and bias."""
  import flax.linen as nn  # pylint: disable=g-import-not-at-top
  from clweadv.embeddings import read_embeddings  # pylint: disable=g-import-not-at-top
  from conftest import EN_GLOVE  # pylint: disable=g-import-not-at-top
  x = jnp.asarray(read_embeddings(EN_GLOVE, max_vocab=256).vectors[:, :40]) * 3.0 + 1.0
  ref = nn.BatchNorm(momentum=models.BN_MOMENTUM, epsilon=models.BN_EPSILON)
  ours = models.BatchNorm()
  variables = ours.init(jax.random.PRNGKey(0), x, train=True)
  assert (jax.tree_util.tree_structure(variables)
          == jax.tree_util.tree_structure(ref.init(jax.random.PRNGKey(0), x,
                                                   use_running_average=False)))
  variables = jax.tree_util.tree_map(
      lambda v: v + 0.5 * jax.random.uniform(jax.random.PRNGKey(1), v.shape), variables)
  weights = jnp.cos(jnp.arange(x.size, dtype=jnp.float32)).reshape(x.shape)

  def loss(module, params, x, **kw):
    y, upd = module.apply({"params": params, "batch_stats": variables["batch_stats"]}, x,
                          mutable=["batch_stats"], **kw)
    return jnp.sum(jnp.tanh(y) * weights), upd["batch_stats"]

  grad = jax.value_and_grad(loss, argnums=(1, 2), has_aux=True)
  (l_ref, s_ref), g_ref = grad(ref, variables["params"], x, use_running_average=False)
  (l_ours, s_ours), g_ours = grad(ours, variables["params"], x, train=True)
  np.testing.assert_allclose(l_ours, l_ref, rtol=1e-5)
  for a, b in zip(jax.tree_util.tree_leaves((g_ours, s_ours)),
                  jax.tree_util.tree_leaves((g_ref, s_ref))):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * float(jnp.abs(b).max()))
  eval_vars = {"params": variables["params"], "batch_stats": s_ref}
  np.testing.assert_allclose(ours.apply(eval_vars, x, train=False),
                             ref.apply(eval_vars, x, use_running_average=True), atol=1e-5)


def test_dropout_backward_equals_autodiff_of_the_mask():
  """The backward pass reads the kept units from the output; on real GloVe rows (no exact zeros)
  it equals autodiff of where(mask, h / (1 - rate), 0) bit for bit when compiled (as the train
  step is). Only a kept unit whose input is exactly 0.0 differs (gradient 0, not 1 / (1 - rate))."""
  from clweadv.embeddings import read_embeddings  # pylint: disable=g-import-not-at-top
  from conftest import EN_GLOVE  # pylint: disable=g-import-not-at-top
  h = jnp.asarray(read_embeddings(EN_GLOVE, max_vocab=256).vectors[:, :40])
  assert not bool(jnp.any(h == 0.0))
  weights = jnp.cos(jnp.arange(h.size, dtype=jnp.float32)).reshape(h.shape)
  for rate in (0.1, 0.3):
    keep = models._hash_bits(jax.random.PRNGKey(7), h.shape) >= np.uint32(round(rate * 2 ** 32))  # pylint: disable=protected-access
    ours = jax.jit(jax.grad(lambda h: jnp.sum(jnp.tanh(models._dropout(h, keep, rate))  # pylint: disable=protected-access
                                              * weights)))(h)
    ref = jax.jit(jax.grad(lambda h: jnp.sum(jnp.tanh(jnp.where(keep, h / (1.0 - rate), 0.0))
                                             * weights)))(h)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(ref))
    assert 0.0 < float(jnp.mean(ours == 0.0)) < 0.5  # Dropped units get no gradient.
  zero = h.at[0, 0].set(0.0)
  kept = jnp.ones_like(keep)
  assert float(jax.grad(lambda h: jnp.sum(models._dropout(h, kept, 0.3)))(zero)[0, 0]) == 0.0  # pylint: disable=protected-access
