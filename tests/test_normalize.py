"""Normalisation on the real GloVe slice: unit rows, centring, idempotence, flag parsing."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from clweadv.embeddings import read_embeddings
from clweadv.errors import InputError
from clweadv.normalize import iterative_normalize, normalize, parse_steps, unit_rows
from tests.conftest import EN_GLOVE, make_config


@pytest.fixture(scope="module")
def glove():
  return read_embeddings(EN_GLOVE, max_vocab=2000).vectors


def test_unit_rows_have_norm_one(glove):
  x = normalize(glove, steps=("unit",))
  np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)


def test_unit_rows_keeps_zero_rows_in_numpy_and_under_jit(glove):
  """One implementation serves NumPy callers and the jitted retrieval scans."""
  x = glove[:4].copy()
  x[2] = 0.0
  for u in (unit_rows(x), jax.jit(unit_rows)(jnp.asarray(x))):
    np.testing.assert_allclose(np.linalg.norm(np.asarray(u)[[0, 1, 3]], axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(u)[2], 0.0)
  assert isinstance(unit_rows(x), np.ndarray)
  assert isinstance(jax.jit(unit_rows)(jnp.asarray(x)), jax.Array)


def test_unit_is_idempotent(glove):
  once = normalize(glove, steps=("unit",))
  np.testing.assert_allclose(normalize(once, steps=("unit",)), once, atol=1e-6)


def test_center_gives_zero_mean_and_is_idempotent(glove):
  x = normalize(glove, steps=("center",))
  np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-5)
  np.testing.assert_allclose(normalize(x, steps=("center",)), x, atol=1e-5)


def test_center_over_the_most_frequent_words(glove):
  """--center_vocab: the mean of the N first (most frequent) rows goes to zero, not the mean of
  all rows; on GloVe the 500 most frequent words then stop sharing a direction of length 0.11."""
  over_all = normalize(glove, steps=("unit", "center"))
  over_top = normalize(glove, steps=("unit", "center"), center_n=500)
  np.testing.assert_allclose(over_top[:500].mean(axis=0), 0.0, atol=1e-5)
  assert np.linalg.norm(over_all[:500].mean(axis=0)) > 0.05
  assert np.linalg.norm(over_top.mean(axis=0)) > 0.05
  # The same translation for every row: differences between words are unchanged.
  np.testing.assert_allclose(over_top[1:] - over_top[:-1], over_all[1:] - over_all[:-1],
                             atol=1e-5)
  np.testing.assert_allclose(normalize(glove, steps=("unit", "center"), center_n=0), over_all)


def test_a_run_centres_each_side_on_center_vocab(tmp_path):
  """`--center_vocab` reaches the spaces a run maps (both sides), and 0 keeps all words."""
  from clweadv import experiment  # pylint: disable=g-import-not-at-top
  for n in (300, 0):
    run = experiment.Run(make_config(tmp_path / str(n), normalize="unit,center",
                                     standardize=False, center_vocab=n))
    for x in (run.src_x, run.tgt_x):
      np.testing.assert_allclose(x[:n or None].mean(axis=0), 0.0, atol=1e-5)
      if n:
        assert np.linalg.norm(x.mean(axis=0)) > 0.02


def test_default_unit_center_unit(glove):
  x = normalize(glove)
  np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
  # Centred before the last unit step: the mean is small compared with unit rows.
  assert np.linalg.norm(x.mean(axis=0)) < 0.1
  assert np.linalg.norm(normalize(glove, steps=("unit",)).mean(axis=0)) > 0.3


def test_iterative_normalisation_converges(glove):
  x = iterative_normalize(glove, rounds=10)
  np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
  assert np.linalg.norm(x.mean(axis=0)) < 1e-3


def test_none_and_input_untouched(glove):
  before = glove.copy()
  np.testing.assert_array_equal(normalize(glove, steps=parse_steps("none")), glove)
  normalize(glove)
  np.testing.assert_array_equal(glove, before)


def test_parse_steps():
  assert parse_steps("unit,center,unit") == ("unit", "center", "unit")
  assert parse_steps(" unit , center ") == ("unit", "center")
  assert parse_steps("none") == ()
  assert parse_steps("") == ()
  with pytest.raises(InputError, match="--normalize.*'whiten'"):
    parse_steps("unit,whiten")
  with pytest.raises(ValueError, match="unknown normalisation step 'bogus'"):
    normalize(np.ones((2, 2)), steps=("unit", "bogus"))
