"""Over 4 forced CPU devices, data-parallel training and key-sharded retrieval equal 1 device."""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import EN_FR_DICT, EN_GLOVE, FR_FASTTEXT, ROOT

# Retrieval on the real slices: NN and CSLS top-5, BLI, and refinement's dictionary induction.
# Vocabulary sizes not divisible by 4 exercise the padded last shard.
_RETRIEVAL = f"""
import jax, numpy as np
from clweadv import refine
from clweadv.bli import evaluation, retrieval
from clweadv.dictionary import read_dictionary
from clweadv.embeddings import read_embeddings
en = read_embeddings({EN_GLOVE!r}, max_vocab=4001)
fr = read_embeddings({FR_FASTTEXT!r}, max_vocab=3999)
pairs = refine.anchor_pairs(src_words=en.words, tgt_words=fr.words)
W = refine.procrustes(en.vectors[pairs[:, 0]], fr.vectors[pairs[:, 1]])
x = en.vectors @ W
nn_s, nn_i = retrieval.topk_cosine(x[:600], fr.vectors, k=5, block_size=512)
cs_s, cs_i, _ = retrieval.csls_translate(src_mapped_NxE=x, tgt_MxE=fr.vectors,
                                         query_ids=np.arange(600), k=5, block_size=512)
bli = evaluation.bli(src_mapped_NxE=x, tgt_MxE=fr.vectors, dictionary=read_dictionary(
    {EN_FR_DICT!r}, src_index=en.index, tgt_index=fr.index))
induced = refine.induce_dictionary(src_mapped_NxE=x, tgt_MxE=fr.vectors, vocab=3000)
np.savez(OUT, devices=len(jax.local_devices()), nn_s=nn_s, nn_i=nn_i, cs_s=cs_s, cs_i=cs_i,
         induced=induced, p1=[bli["nn"]["p@1"], bli["csls"]["p@1"]])
"""


def _retrieve(out, devices):
  env = dict(os.environ, PYTHONPATH=ROOT,
             XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
  proc = subprocess.run([sys.executable, "-c", f"OUT = {str(out)!r}" + _RETRIEVAL],
                        capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  return np.load(out)


def test_sharded_retrieval_matches_one_device(tmp_path):
  one = _retrieve(tmp_path / "one.npz", 1)
  four = _retrieve(tmp_path / "four.npz", 4)
  assert (int(one["devices"]), int(four["devices"])) == (1, 4)
  for name in ("nn", "cs"):
    np.testing.assert_allclose(one[f"{name}_s"], four[f"{name}_s"], atol=1e-5)
    # Ids agree except where two candidates score within float noise of each other.
    differ = one[f"{name}_i"] != four[f"{name}_i"]
    assert differ.mean() < 0.002, (name, differ.mean())
    assert np.all(np.diff(one[f"{name}_s"], axis=1)[differ[:, 1:]] > -1e-5)
  assert len(one["induced"]) > 500
  np.testing.assert_array_equal(one["induced"], four["induced"])
  np.testing.assert_allclose(one["p1"], four["p1"], atol=0.05)
  assert one["p1"].max() > 20  # The identical-spelling mapping really translates.


def _run(workdir, devices):
  """A whole short experiment: training, evaluation, selection, refinement, export."""
  env = dict(os.environ, PYTHONPATH=ROOT,
             XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
  args = [sys.executable, "-m", "clweadv.main", f"--src_emb={EN_GLOVE}", f"--tgt_emb={FR_FASTTEXT}",
          "--src_lang=en", "--tgt_lang=fr", "--max_vocab=2000", "--steps=40", "--log_every=20",
          "--eval_every=20", "--checkpoint_every=40", "--criterion_vocab=1000", "--init=aae",
          "--refine_iters=2", "--refine_vocab=1500", "--export_vocab=500",
          f"--test_dictionary={EN_FR_DICT}", f"--workdir={workdir}"]
  proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  rows = [json.loads(l) for l in open(os.path.join(workdir, "metrics.jsonl"))]
  results = json.load(open(os.path.join(workdir, "results.json")))
  return [r for r in rows if "train/gen_loss" in r], results


def test_four_devices_match_one(tmp_path):
  (one, one_results), (four, four_results) = _run(tmp_path / "one", 1), _run(tmp_path / "four", 4)
  assert [r["step"] for r in one] == [r["step"] for r in four] == [20, 40]
  for a, b in zip(one, four):
    for key in ("train/gen_loss", "train/recon_loss", "train/cos_loss", "train/disc_loss",
                "monitor/disc_acc", "valid/mean_cosine"):
      # Sums split over devices round differently; adversarial training amplifies it slowly.
      assert abs(a[key] - b[key]) < 1e-3 * max(1.0, abs(a[key])), (key, a[key], b[key])
  assert four_results["selected_step"] == one_results["selected_step"]
  for method in ("nn", "csls"):
    assert abs(four_results["bli"][method]["p@1"] - one_results["bli"][method]["p@1"]) <= 0.5
  mapping = np.load(tmp_path / "four" / "mapping.npy")
  assert mapping.shape == (50, 300)
  assert len(open(tmp_path / "four" / "dictionary.en-fr.tsv").read().splitlines()) == 500


# Many heavy retrieval blocks in a row over 4 devices: each block's all-gather must be joined by
# every device before the next block starts (unordered blocks hung the process in XLA's CPU
# client). The 4,000 real French vectors, repeated, make each block take long enough.
_MANY_BLOCKS = f"""
import numpy as np
from clweadv.bli import retrieval
from clweadv.embeddings import read_embeddings
fr = read_embeddings({FR_FASTTEXT!r}).vectors
_, ids = retrieval.topk_cosine(np.tile(fr, (12, 1)), np.tile(fr, (4, 1)), k=1)
assert (np.asarray(ids)[:, 0] % len(fr) == np.tile(np.arange(len(fr)), 12)).mean() > 0.99
print("ok")
"""


def test_many_sharded_retrieval_blocks_finish():
  env = dict(os.environ, PYTHONPATH=ROOT, XLA_FLAGS="--xla_force_host_platform_device_count=4")
  proc = subprocess.run([sys.executable, "-c", _MANY_BLOCKS], capture_output=True, text=True,
                        env=env, cwd=ROOT, timeout=600)
  assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


_STALL = """
import time
import jax, jax.numpy as jnp, numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from clweadv import watchdog
watchdog.configure(2)
mesh = Mesh(np.array(jax.devices()), ("data",))
x = jax.device_put(jnp.ones(4), NamedSharding(mesh, PartitionSpec("data")))
stall = lambda v: (time.sleep(120), v)[1]
out = jax.jit(lambda x: jax.pure_callback(stall, jax.ShapeDtypeStruct(x.shape, x.dtype), x))(x)
with watchdog.waiting("training steps 1-100", devices=2):
  jax.block_until_ready(out)
"""


def test_stalled_devices_end_the_run_with_one_line():
  env = dict(os.environ, PYTHONPATH=ROOT, XLA_FLAGS="--xla_force_host_platform_device_count=2")
  tick = time.time()
  proc = subprocess.run([sys.executable, "-c", _STALL], capture_output=True, text=True, env=env,
                        cwd=ROOT, timeout=600)
  assert proc.returncode == 1, proc.stderr[-3000:]
  assert proc.stderr.strip().splitlines()[-1].startswith(
      "error: the devices made no progress for 2 s while training steps 1-100"), proc.stderr
  assert time.time() - tick < 60


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


@pytest.mark.slow
def test_the_adversarial_method_finishes_on_four_devices(tmp_path):
  """`adversarial.flags` over 4 forced CPU devices: two restarts side by side (vmapped, batch split
  over the mesh), two judged rounds, refinement and export all finish."""
  env = dict(os.environ, PYTHONPATH=ROOT, XLA_FLAGS="--xla_force_host_platform_device_count=4")
  workdir = tmp_path / "run"
  args = [sys.executable, "-m", "clweadv.main", "--flagfile=experiments/adversarial.flags",
          f"--src_emb={EN_GLOVE}", f"--tgt_emb={FR_FASTTEXT}", f"--test_dictionary={EN_FR_DICT}",
          "--max_vocab=1000", "--steps=100", "--log_every=50", "--eval_every=50",
          "--checkpoint_every=100", "--refine_iters=1", "--refine_vocab=800",
          "--criterion_vocab=500", "--center_vocab=500", "--disc_vocab=500", "--export_vocab=100",
          "--restarts=2", "--restart_rounds=2", "--success_margin=1", f"--workdir={workdir}"]
  proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
  assert proc.returncode == 0, proc.stderr[-3000:]
  results = json.load(open(workdir / "results.json"))
  # A margin of 1 cannot be reached: both rounds run, each judged.
  assert (results["rounds"], results["restarts"], results["success"]) == (2, 2, False)
  assert results["selected_restart"] in (0, 1)
  for d in (workdir, workdir / "round1"):
    rows = [json.loads(l) for l in open(d / "metrics.jsonl")]
    assert [r["step"] for r in rows if "valid/restart" in r] == [50, 100]
  assert np.load(workdir / "mapping.npy").shape == (50, 300)
  assert len(open(workdir / "dictionary.src-tgt.tsv").read().splitlines()) == 100
