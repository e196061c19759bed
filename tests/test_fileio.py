"""Atomic writes: all or nothing, and the permissions a plain write would give."""

import os
import stat

import numpy as np
import pytest

from clweadv.fileio import atomic_open, save_npy, write_json


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_files_follow_the_umask(tmp_path, umask, mode):
  old = os.umask(umask)
  try:
    write_json(tmp_path / "results.json", {"p@1": 26.3})
    save_npy(tmp_path / "mapping.npy", np.eye(3))
    with open(tmp_path / "plain.txt", "w", encoding="utf-8") as f:
      f.write("x")
  finally:
    os.umask(old)
  for name in ("results.json", "mapping.npy", "plain.txt"):
    assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == mode, name


def test_a_failed_write_leaves_the_old_file(tmp_path):
  path = tmp_path / "results.json"
  write_json(path, {"old": 1})
  with pytest.raises(RuntimeError):
    with atomic_open(path) as f:
      f.write("half")
      raise RuntimeError("stopped")
  assert path.read_text() == '{\n  "old": 1\n}\n'
  assert os.listdir(tmp_path) == ["results.json"]
