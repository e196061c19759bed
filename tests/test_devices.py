"""Data-parallel training over 4 forced CPU devices equals the 1-device run."""

import json
import os
import subprocess
import sys

from conftest import EN_GLOVE, FR_FASTTEXT, ROOT


def _run(workdir, devices):
  env = dict(os.environ, PYTHONPATH=ROOT,
             XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
  args = [sys.executable, "-m", "clweadv.main", f"--src_emb={EN_GLOVE}", f"--tgt_emb={FR_FASTTEXT}",
          "--src_lang=en", "--tgt_lang=fr", "--max_vocab=2000", "--steps=40", "--log_every=20",
          "--eval_every=20", "--checkpoint_every=40", "--criterion_vocab=1000",
          "--export=false", f"--workdir={workdir}"]
  proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  rows = [json.loads(l) for l in open(os.path.join(workdir, "metrics.jsonl"))]
  return rows


def test_four_devices_match_one(tmp_path):
  one = _run(tmp_path / "one", 1)
  four = _run(tmp_path / "four", 4)
  assert [r["step"] for r in one] == [r["step"] for r in four] == [20, 40]
  for a, b in zip(one, four):
    for key in ("train/gen_loss", "train/recon_loss", "train/cos_loss", "train/disc_loss",
                "monitor/disc_acc", "valid/mean_cosine"):
      # Sums split over devices round differently; adversarial training amplifies it slowly.
      assert abs(a[key] - b[key]) < 1e-3 * max(1.0, abs(a[key])), (key, a[key], b[key])


def test_distributed_runtime_with_one_process(tmp_path):
  env = dict(os.environ, PYTHONPATH=ROOT)
  args = [sys.executable, "-m", "clweadv.main", "--distributed",
          "--coordinator_address=localhost:23457", "--num_processes=1", "--process_id=0",
          f"--src_emb={EN_GLOVE}", f"--tgt_emb={FR_FASTTEXT}", "--max_vocab=1000", "--steps=20",
          "--log_every=10", "--eval_every=10", "--checkpoint_every=20", "--criterion_vocab=500",
          "--export=false", f"--workdir={tmp_path}"]
  proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert json.load(open(tmp_path / "results.json"))["steps"] == 20
