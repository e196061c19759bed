"""The metrics sink: metrics.jsonl rows, resume truncation, and the progress line's labels."""

import io
import json
import time

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


class _Terminal(io.StringIO):
  def isatty(self):
    return True


def test_progress_has_elapsed_time_and_estimate_on_a_terminal_and_in_a_log(tmp_path):
  for stream in (io.StringIO(), _Terminal()):
    writer = MetricsWriter(str(tmp_path / str(stream.isatty())), total_steps=300, stream=stream)
    for step in (100, 200, 300):
      writer.write(step, {"train/gen_loss": 2.5})
      time.sleep(0.6)  # Past the terminal's 0.5 s between updates.
    writer.close()
    text = stream.getvalue()
    if stream.isatty():  # One line rewritten in place, ended once training is done.
      assert text.startswith("\r") and text.count("\n") == 1 and text.endswith("\n")
    else:  # A log: plain lines, one per row.
      assert "\r" not in text and len(text.splitlines()) == 3
    lines = [l.strip() for l in text.replace("\r", "\n").splitlines() if l.strip()]
    assert lines[0].startswith("step 100/300 (33%), 0s elapsed  gen_loss 2.5"), lines
    assert len(lines) == 3, lines
    assert " left" in lines[1] and lines[1].startswith("step 200/300 (67%)"), lines
    assert lines[-1].startswith("step 300/300 (100%)") and " left" not in lines[-1], lines


def test_refinement_rows_show_iteration_k_of_n(tmp_path):
  out = io.StringIO()
  writer = MetricsWriter(str(tmp_path), phase_totals={"refine": 5}, stream=out)
  writer.write(1, {"unsup/init_criterion": 0.52})
  for it in range(3):
    writer.write(2 + it, {"refine/iter": it, "refine/criterion": 0.5 + it / 100})
  writer.close()
  lines = out.getvalue().splitlines()
  assert lines[0] == "unsup: init_criterion 0.52"
  assert lines[1].startswith("refine iteration 0/5 (0%), ") and "criterion 0.5" in lines[1]
  assert lines[3].startswith("refine iteration 2/5 (40%), ") and " left" in lines[3]
