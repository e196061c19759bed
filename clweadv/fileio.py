"""Atomic writes: every file clweadv produces is written to a temporary name, then renamed."""

import contextlib
import json
import os
import tempfile

import numpy as np

from clweadv.errors import InputError, warn


def _umask():
  mask = os.umask(0o022)
  os.umask(mask)
  return mask


@contextlib.contextmanager
def atomic_open(path, mode="w", encoding="utf-8"):
  """Opens a temporary file beside `path`; renames it to `path` only if the block succeeds."""
  path = os.fspath(path)
  directory = os.path.dirname(os.path.abspath(path))
  os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                             dir=directory)
  os.close(fd)
  os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 -> what a plain open() would give.
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


def split_lines(path):
  """Yields (line number, whitespace-separated fields) of a UTF-8 text file, skipping blank
  lines; bytes that are not UTF-8 raise `InputError` naming the file and line."""
  with open(path, "rb") as f:
    for lineno, raw in enumerate(f, start=1):
      try:
        parts = raw.decode("utf-8").split()
      except UnicodeDecodeError as e:
        raise InputError(f"{path}:{lineno}: not valid UTF-8 ({e.reason} at byte {e.start})")
      if parts:
        yield lineno, parts


def read_run_config(workdir):
  """The `config.json` of a `clweadv.main` work dir, or `InputError` naming `--workdir`."""
  path = os.path.join(workdir or "", "config.json")
  if not workdir or not os.path.isfile(path):
    raise InputError(f"--workdir={workdir}: no config.json (not a clweadv work dir)")
  try:
    with open(path, encoding="utf-8") as f:
      return json.load(f)
  except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
    raise InputError(f"{path}: unreadable ({e})")


def warn_if_failed(workdir):
  """Warns (one line) when the run's `results.json` says its mapping failed (`failure`, judged
  from the unsupervised criterion and the diversity at the end of the run)."""
  try:
    with open(os.path.join(workdir, "results.json"), encoding="utf-8") as f:
      failure = json.load(f).get("failure")
  except (OSError, ValueError):
    return
  if failure:
    warn(f"{workdir}: this run's mapping probably failed ({failure}); its translations are not "
         "to be trusted")
