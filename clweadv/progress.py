"""Progress of long steps on stderr: done/total, elapsed time and an estimate of the time left.

On a terminal the line is rewritten in place (`\\r`); otherwise (a log file, a pipe) each update
is a plain line, at most one every `every_s` seconds, so that logs stay readable.
"""

import sys
import time


def duration(seconds):
  """`42s`, `3m05s`, `1h02m`."""
  seconds = max(0, int(round(seconds)))
  if seconds < 60:
    return f"{seconds}s"
  if seconds < 3600:
    return f"{seconds // 60}m{seconds % 60:02d}s"
  return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Progress:
  """`progress(done, total, detail="")` prints `label done/total (p%), 1m02s elapsed, ~3m left`
  (without a total: `label done, 1m02s elapsed`).

  Usable as the `progress` callback of `clweadv.bli.retrieval`. The estimate assumes the remaining
  units go at the rate of those done since the first update (so a resumed run does not count the
  steps it restored).
  """

  def __init__(self, label, *, stream=None, every_s=None, percent=False):
    self.label = label
    self.percent = percent  # `done` is a percentage: shown as `43%`, not `43/100 (43%)`.
    self.stream = stream or sys.stderr
    self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
    self.every_s = every_s if every_s is not None else (0.5 if self.tty else 10.0)
    self.start = time.monotonic()
    self._first = None  # (time, done) of the first update.
    self._last = -float("inf")
    self._closed = False

  def line(self, done, total, detail=""):
    now = time.monotonic()
    if self._first is None:
      self._first = (now, done)
    t0, done0 = self._first
    rate = (done - done0) / (now - t0) if now > t0 and done > done0 else 0.0
    if total:
      eta = f", ~{duration((total - done) / rate)} left" if rate > 0 and done < total else ""
      count = (f"{100.0 * done / total:.0f}%" if self.percent else
               f"{done}/{total} ({100.0 * done / total:.0f}%)")
    else:  # An open-ended loop (until convergence): no estimate.
      eta, count = "", f"{done}"
    text = f"{self.label} {count}, {duration(now - self.start)} elapsed{eta}"
    return text + (f"  {detail}" if detail else "")

  def close(self):
    """Ends a `\\r` line left open (the loop stopped before reaching its total)."""
    if self.tty and self._last > -float("inf") and not self._closed:
      self.stream.write("\n")
      self.stream.flush()
    self._closed = True

  def __call__(self, done, total=None, detail=""):
    now = time.monotonic()
    text = self.line(done, total, detail)
    finished = bool(total) and done >= total
    if now - self._last < self.every_s and not finished:
      return
    self._last = now
    self._closed = finished
    if self.tty:
      self.stream.write("\r" + text[:160].ljust(160) + ("\n" if finished else ""))
    else:
      self.stream.write(text + "\n")
    self.stream.flush()
