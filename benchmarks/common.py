"""What the benchmarks share: the machine's description, measured child processes, JSON rows."""

import json
import os
import platform
import shutil
import subprocess
import time


def machine():
  """One line: CPU model, cores, memory, Python, JAX and its backend, load average."""
  cpu = platform.processor() or platform.machine()
  try:
    with open("/proc/cpuinfo", encoding="utf-8") as f:
      cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), cpu)
  except OSError:
    pass
  mem = ""
  try:
    mem = f", {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2 ** 30:.0f} GiB RAM"
  except (ValueError, OSError, AttributeError):
    pass
  import jax  # pylint: disable=g-import-not-at-top
  return (f"{cpu}, {os.cpu_count()} cores{mem}; Python {platform.python_version()}, "
          f"jax {jax.__version__} on {jax.default_backend()}; "
          f"load average {os.getloadavg()[0]:.1f}")


def run_measured(name, cmd, *, cwd=None):
  """Runs `cmd` (output passed through); returns {name, wall_s, cpu_s, peak_rss_mb}.

  The peak resident memory is the child's own `ru_maxrss` (`os.wait4`), not this process's.
  Raises SystemExit with the command's status when it fails.
  """
  t0 = time.time()
  proc = subprocess.Popen(cmd, cwd=cwd)
  _, status, usage = os.wait4(proc.pid, 0)
  proc.returncode = os.waitstatus_to_exitcode(status)
  if proc.returncode:
    raise SystemExit(f"{name}: `{' '.join(cmd)}` exited with {proc.returncode}")
  return {"name": name, "wall_s": round(time.time() - t0, 1),
          "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
          "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def fresh_dir(path):
  """Removes `path` (a work dir of an earlier benchmark run) if it exists."""
  if os.path.isdir(path):
    shutil.rmtree(path)


def write_rows(path, rows):
  """Writes the rows as JSON to `path` (nothing when `path` is empty)."""
  if path:
    with open(path, "w", encoding="utf-8") as f:
      json.dump(rows, f, indent=1)
