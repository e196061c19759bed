"""The metrics sink: metrics.jsonl rows, resume truncation, and the progress line's labels."""

import io
import json

from clweadv.metrics import MetricsWriter, read_metrics


def test_rows_resume_and_progress_labels(tmp_path):
  out = io.StringIO()
  writer = MetricsWriter(str(tmp_path), total_steps=200, stream=out)
  for step in (100, 200):
    writer.write(step, {"train/gen_loss": 2.5, "train/disc_acc": 0.65,
                        "monitor/disc_acc": 0.98, "steps_per_second": 340.0,
                        "train/cos_loss": float("nan")})
  writer.close()
  rows = read_metrics(str(tmp_path))
  assert [r["step"] for r in rows] == [100, 200]
  assert rows[0]["train/cos_loss"] is None          # Non-finite values become JSON null.
  assert rows[0]["monitor/disc_acc"] == 0.98
  # The progress line tells the training discriminator from the monitor.
  last = out.getvalue().splitlines()[-1]
  assert "D0_acc 0.65" in last and "D1_acc 0.98" in last and "steps/s 340" in last, last
  # Resuming from step 100 drops the rows written after it, and a line cut by a kill.
  with open(tmp_path / "metrics.jsonl", "a", encoding="utf-8") as f:
    f.write('{"step": 300, "train/gen')
  MetricsWriter(str(tmp_path), resume_step=100, total_steps=200, stream=io.StringIO()).close()
  with open(tmp_path / "metrics.jsonl", encoding="utf-8") as f:
    assert [json.loads(line)["step"] for line in f] == [100]
