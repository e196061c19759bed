"""Ends the process with one line when a computation over several devices stops progressing.

A collective that one device never joins hangs every other device: XLA's CPU client aborts the
process after 40 s with a C++ stack trace, and GPU/TPU runtimes may wait for ever. The command
lines arm this watchdog (`--device_timeout`); `waiting` marks the host's waits on multi-device
results (a training chunk, a retrieval block). A wait longer than the limit ends the process with
one line on stderr and exit code 1. Nothing is armed for a single device, or in library use.
"""

import contextlib
import os
import sys
import threading
import time

_state = {"limit_s": 0.0, "since": None, "what": None}
_lock = threading.Lock()
_thread = None


def configure(limit_s):
  """Arms the watchdog for this process (0 disarms it)."""
  global _thread
  _state["limit_s"] = float(limit_s)
  if limit_s and _thread is None:
    _thread = threading.Thread(target=_watch, name="clweadv-watchdog", daemon=True)
    _thread.start()


@contextlib.contextmanager
def waiting(what, *, devices):
  """Marks a host wait on a computation over `devices` devices (watched only when > 1)."""
  if devices <= 1 or not _state["limit_s"]:
    yield
    return
  with _lock:
    _state["since"], _state["what"] = time.monotonic(), what
  try:
    yield
  finally:
    with _lock:
      _state["since"] = None


def _watch():
  while True:
    time.sleep(min(1.0, _state["limit_s"] / 4 or 1.0))
    with _lock:
      since, what, limit = _state["since"], _state["what"], _state["limit_s"]
    if since is not None and limit and time.monotonic() - since > limit:
      print(f"error: the devices made no progress for {limit:g} s while {what} (a collective "
            "that not every device joined, or a device that stopped); rerun the same command "
            "to resume from the last checkpoint, with fewer devices, or raise --device_timeout",
            file=sys.stderr, flush=True)
      os._exit(1)  # The main thread is blocked inside the runtime: exceptions cannot reach it.
