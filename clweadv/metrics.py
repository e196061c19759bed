"""The one metrics sink: `metrics.jsonl` in the work dir, plus a progress line on a terminal."""

import json
import math
import os
import sys

from clweadv.fileio import atomic_open
from clweadv.progress import Progress


# What the progress line shows during training, and under which short label.
PROGRESS_KEYS = {"train/gen_loss": "gen_loss", "train/disc_acc": "D0_acc",
                 "monitor/disc_acc": "D1_acc", "valid/mean_cosine": "criterion",
                 "test/csls/p@1": "csls_p@1", "steps_per_second": "steps/s"}


class MetricsWriter:
  """Appends one JSON object per line; on resume, drops lines past the restored step."""

  def __init__(self, workdir, *, resume_step=0, total_steps=0, phase_totals=None, stream=None):
    """`total_steps`: training's; `phase_totals`: iterations of each phase after training
    (`{"refine": 10}`: rows with `refine/iter`), for the progress line's estimate."""
    self.path = os.path.join(workdir, "metrics.jsonl")
    self.total = total_steps
    self.phase_totals = phase_totals or {}
    self.stream = stream if stream is not None else sys.stderr
    self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
    self._bars = {}
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
    with atomic_open(self.path) as f:
      f.writelines(kept)
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
    if self.total:
      detail = "  ".join(f"{label} {values[key]:.4g}" for key, label in PROGRESS_KEYS.items()
                         if values.get(key) is not None)
      self._bar("step")(step, self.total, detail)
      return
    # After training (self-learning, refinement): the phase's iteration, and its other values.
    it_key = next((k for k in values if k.endswith("/iter")), None)
    phase = (it_key or next(iter(values), "")).split("/")[0]
    detail = "  ".join(f"{k.split('/')[-1]} {v:.4g}" for k, v in sorted(values.items())
                       if k != it_key and v is not None)
    if it_key is None:  # A one-off row (e.g. the criterion of a start).
      self.stream.write(f"{phase}: {detail}\n")
      self.stream.flush()
      return
    label = phase.replace("_", "-") + " iteration"
    self._bar(label)(int(values[it_key]), self.phase_totals.get(phase), detail)

  def _bar(self, label):
    if label not in self._bars:
      self._bars[label] = Progress(label, stream=self.stream, every_s=0.5 if self.tty else 0)
    return self._bars[label]

  def close(self):
    for bar in self._bars.values():  # A loop that stopped early (refinement converged).
      bar.close()
    self._file.close()


def read_metrics(workdir):
  with open(os.path.join(workdir, "metrics.jsonl"), encoding="utf-8") as f:
    return [json.loads(line) for line in f if line.strip()]
