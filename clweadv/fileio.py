"""Atomic writes: every file clweadv produces is written to a temporary name, then renamed."""

import contextlib
import json
import os
import tempfile

import numpy as np


@contextlib.contextmanager
def atomic_open(path, mode="w", encoding="utf-8"):
  """Opens a temporary file beside `path`; renames it to `path` only if the block succeeds."""
  path = os.fspath(path)
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                             dir=directory)
  os.close(fd)
  try:
    kwargs = {} if "b" in mode else {"encoding": encoding}
    with open(tmp, mode, **kwargs) as f:
      yield f
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    with contextlib.suppress(FileNotFoundError):
      os.remove(tmp)
    raise


def write_json(path, obj):
  with atomic_open(path) as f:
    json.dump(obj, f, indent=2, sort_keys=False)
    f.write("\n")


def save_npy(path, array):
  with atomic_open(path, "wb") as f:
    np.save(f, np.asarray(array))
