r"""Train steps per second of the adversarial autoencoder (both discriminators), batch 128+128.

  python benchmarks/bench_train.py [--steps_per_call=1,100] [--dims=100,300]

Inputs are the real slices in third_party/ (GloVe en, fastText fr), brought to the benchmarked
dimension by a fixed linear projection (speed depends on shapes, not values). Prints a table.
XLA uses its default threading (as `clweadv.main` does); `--threads=one` compares with one
intra-op thread.
"""

import os
import sys

if "--threads=one" in sys.argv:
  os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                        "intra_op_parallelism_threads=1")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import time  # pylint: disable=g-import-not-at-top
import types  # pylint: disable=g-import-not-at-top

from absl import app, flags  # pylint: disable=g-import-not-at-top
import jax  # pylint: disable=g-import-not-at-top
import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
import numpy as np  # pylint: disable=g-import-not-at-top

from benchmarks import common  # pylint: disable=g-import-not-at-top
from clweadv import train  # pylint: disable=g-import-not-at-top
from clweadv.embeddings import read_embeddings  # pylint: disable=g-import-not-at-top
from clweadv.sampling import (cdf_from_probabilities, sampling_probabilities,  # pylint: disable=g-import-not-at-top
                              zipf_counts)

flags.DEFINE_list("dims", ["100", "300"], "Embedding dimensions (both languages).")
flags.DEFINE_list("steps_per_call", ["1", "100"], "Train steps fused into one jitted call.")
flags.DEFINE_integer("width", 40, "Discriminator width k.")
flags.DEFINE_integer("blocks", 10, "Discriminator blocks T.")
flags.DEFINE_integer("batch_size", 128, "Words per language per step.")
flags.DEFINE_float("seconds", 10.0, "Measured seconds per configuration.")
flags.DEFINE_string("threads", "default", "default: XLA's threading; one: one intra-op thread.")
flags.DEFINE_string("json_out", None, "Also write the rows to this JSON file.")


def _data(d):
  rng = np.random.default_rng(0)
  out = []
  for path in ("third_party/glove6b/en.top5000.vec", "third_party/fasttext_fr/fr.top4000.vec"):
    x = read_embeddings(os.path.join(ROOT, path)).vectors
    x = x @ rng.standard_normal((x.shape[1], d)).astype(np.float32)
    out.append(train.preprocess(x, normalize_steps=(), standardize=True))
  cdf = lambda n: jnp.asarray(cdf_from_probabilities(
      sampling_probabilities(zipf_counts(n), kind="faithful")))
  return train.Data(src_NxD=jnp.asarray(out[0]), tgt_MxE=jnp.asarray(out[1]),
                    src_cdf_N=cdf(len(out[0])), tgt_cdf_M=cdf(len(out[1])))


def measure(d, n):
  f = flags.FLAGS
  cfg = types.SimpleNamespace(model="aae", deep_hidden=300, disc_width=f.width,
                              disc_blocks=f.blocks, disc_arch="resnet", gen_lr=1e-3,
                              disc_lr=1e-2, batch_size=f.batch_size, lambda_r=1.0,
                              lambda_a=1.0, lambda_c=1.0, skip_logic=True, ortho_beta=0.0,
                              disc_steps=1, label_smoothing=0.0, disc_input_dropout=0.0)
  setup = train.make_setup(cfg, d_src=d, d_tgt=d)
  state = train.create_train_state(setup, seed=0, d_src=d, d_tgt=d)
  data = _data(d)
  fn = train.make_train_steps(setup, n)
  state, _ = fn(state, data)
  jax.block_until_ready(state)
  steps, t0 = 0, time.perf_counter()
  while time.perf_counter() - t0 < f.seconds:
    state, _ = fn(state, data)
    steps += n
  jax.block_until_ready(state)
  return steps / (time.perf_counter() - t0)


def main(argv):
  del argv
  f = flags.FLAGS
  print(f"machine: {common.machine()}; XLA threads: {f.threads}")
  print("| d | k | T | batch | steps per call | steps/s |")
  print("|---|---|---|---|---|---|")
  rows = []
  for d in map(int, f.dims):
    for n in map(int, f.steps_per_call):
      rate = measure(d, n)
      rows.append({"d": d, "steps_per_call": n, "steps_per_s": round(rate, 1)})
      print(f"| {d} | {f.width} | {f.blocks} | {f.batch_size}+{f.batch_size} | {n} | "
            f"{rate:.0f} |", flush=True)
  common.write_rows(f.json_out, rows)


if __name__ == "__main__":
  app.run(main)
