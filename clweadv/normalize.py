"""Normalisation of an embedding space before mapping: unit length, mean centring, repeated.

`unit,center,unit` (the default, as VecMap) makes every row unit length, removes the mean
vector, and makes the rows unit length again, so that dot products are cosines and the two
spaces share an origin. `none` keeps the vectors as they are (the faithful reproduction).

>>> import numpy as np
>>> x = np.array([[3., 4.], [1., 0.]], np.float32)
>>> print(normalize(x, steps=("unit",)).round(2))
[[0.6 0.8]
 [1.  0. ]]
>>> parse_steps("unit,center,unit")
('unit', 'center', 'unit')
"""

import sys

import numpy as np

from clweadv.errors import InputError

STEPS = ("unit", "center", "center_dims", "unit_dims")
"""Known steps: `unit` rows to length 1; `center` subtract the mean row; `center_dims` the same
(alias kept for VecMap users); `unit_dims` every dimension to unit variance."""

DEFAULT = ("unit", "center", "unit")


def parse_steps(value, *, flag="--normalize"):
  """Parses a flag value such as `unit,center,unit` or `none` into a tuple of steps.

  Raises `InputError` naming the flag on an unknown step.
  """
  if isinstance(value, (tuple, list)):
    parts = [str(p).strip() for p in value]
  else:
    value = (value or "").strip()
    if value.lower() in ("", "none"):
      return ()
    parts = [p.strip() for p in value.split(",")]
  steps = []
  for p in parts:
    if p.lower() == "none" and len(parts) == 1:
      return ()
    if p not in STEPS:
      raise InputError(f"{flag}: unknown normalisation step {p!r} "
                       f"(known: {', '.join(STEPS)}, or 'none')")
    steps.append(p)
  return tuple(steps)


def unit_rows(x_NxD, *, eps=1e-8):
  """Rows scaled to unit L2 norm (all-zero rows stay zero), in float32.

  NumPy in, NumPy out; a JAX array (a traced one included, as in `clweadv.bli.retrieval`'s jitted
  scans) stays a JAX array."""
  xp = np
  # Only a process that has loaded JAX can pass a JAX array: the NumPy-only command lines
  # (`report`, `translate --help`) start without importing it.
  if not isinstance(x_NxD, np.ndarray) and "jax" in sys.modules:
    import jax  # pylint: disable=g-import-not-at-top
    if isinstance(x_NxD, jax.Array):
      xp = jax.numpy
  x = xp.asarray(x_NxD, xp.float32)
  return x / xp.maximum(xp.linalg.norm(x, axis=1, keepdims=True), eps)


def normalize(x_NxD, *, steps=DEFAULT, center_n=None):
  """Applies the normalisation `steps` in order; returns a new float32 N x D array.

  Args:
    x_NxD: the embeddings, one word per row.
    steps: a tuple of names from `STEPS` (or a flag string, see `parse_steps`); `()` is a no-op.
    center_n: `center` subtracts the mean of the first (most frequent) `center_n` rows; None or
      0: of all rows.

  `unit,center,unit` is not exactly idempotent (the mean of unit rows is not zero), but it
  converges quickly when repeated ("iterative normalisation"); see `iterative_normalize`.
  """
  if isinstance(steps, str):
    steps = parse_steps(steps)
  x = np.array(x_NxD, dtype=np.float32, copy=True)
  for step in steps:
    if step == "unit":
      x = unit_rows(x)
    elif step in ("center", "center_dims"):
      x -= x[:center_n or None].mean(axis=0, keepdims=True)
    elif step == "unit_dims":
      x /= np.maximum(x.std(axis=0, keepdims=True), 1e-8)
    else:
      raise ValueError(f"unknown normalisation step {step!r} (known: {', '.join(STEPS)})")
  return x


def iterative_normalize(x_NxD, *, rounds=5):
  """`unit,center` repeated `rounds` times, then `unit` (Zhang et al. 2019): rows of unit length
  whose mean is close to zero."""
  x = np.asarray(x_NxD, np.float32)
  for _ in range(rounds):
    x = normalize(x, steps=("unit", "center"))
  return unit_rows(x)


def principal_axes(x_NxD, *, k):
  """The D x k orthonormal columns spanning the `k` directions of largest variance of the rows
  (PCA: right singular vectors of the centred rows), largest first.

  >>> import numpy as np
  >>> x = np.array([[3., 0., 0.], [-3., 0., 0.], [0., 1., 0.], [0., -1., 0.]], np.float32)
  >>> print(np.abs(principal_axes(x, k=2)).round(2))
  [[1. 0.]
   [0. 1.]
   [0. 0.]]
  """
  x = np.asarray(x_NxD, np.float64)
  _, _, vt = np.linalg.svd(x - x.mean(axis=0, keepdims=True), full_matrices=False)
  return vt[:k].T.astype(np.float32)
