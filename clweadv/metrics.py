"""The one metrics sink: `metrics.jsonl` in the work dir, plus a progress line on a terminal."""

import json
import math
import os
import sys
import time


# What the progress line shows during training, and under which short label.
PROGRESS_KEYS = {"train/gen_loss": "gen_loss", "train/disc_acc": "D0_acc",
                 "monitor/disc_acc": "D1_acc", "valid/mean_cosine": "criterion",
                 "test/csls/p@1": "csls_p@1", "steps_per_second": "steps/s"}


class MetricsWriter:
  """Appends one JSON object per line; on resume, drops lines past the restored step."""

  def __init__(self, workdir, *, resume_step=0, total_steps=0, stream=None):
    self.path = os.path.join(workdir, "metrics.jsonl")
    self.total = total_steps
    self.stream = stream if stream is not None else sys.stderr
    self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
    self._last_progress = 0.0
    kept = []
    if os.path.exists(self.path):
      with open(self.path, encoding="utf-8") as f:
        for line in f:
          try:
            row = json.loads(line)
          except json.JSONDecodeError:  # A line cut by a kill: dropped.
            continue
          if row.get("step", 0) <= resume_step:
            kept.append(line if line.endswith("\n") else line + "\n")
    tmp = self.path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
      f.writelines(kept)
    os.replace(tmp, self.path)
    self._file = open(self.path, "a", encoding="utf-8")

  def write(self, step, values):
    row = {"step": int(step)}
    for k, v in values.items():
      v = float(v) if v is not None else None
      row[k] = None if v is None or not math.isfinite(v) else v
    self._file.write(json.dumps(row) + "\n")
    self._file.flush()
    self.progress(step, values)

  def progress(self, step, values):
    now = time.time()
    if now - self._last_progress < 0.5 and step < self.total:
      return
    self._last_progress = now
    if self.total:
      parts = [f"step {step}/{self.total}"]
      keys = PROGRESS_KEYS
    else:  # After training (self-learning, refinement): every value, briefly.
      parts, keys = [], {k: k for k in sorted(values)}
    for key, label in keys.items():
      if key in values and values[key] is not None:
        parts.append(f"{label} {values[key]:.4g}")
    line = "  ".join(parts)
    if self.tty:
      self.stream.write("\r" + line[:150].ljust(150) + ("\n" if step >= self.total else ""))
    else:
      self.stream.write(line + "\n")
    self.stream.flush()

  def close(self):
    self._file.close()


def read_metrics(workdir):
  with open(os.path.join(workdir, "metrics.jsonl"), encoding="utf-8") as f:
    return [json.loads(line) for line in f if line.strip()]
