r"""Does the adversarial game have the translation as its goal? A diagnostic for a ladder case.

Distribution matching can only find a mapping under which the mapped source and the target are
hard to tell apart. This plays the game of `experiments/adversarial.flags` from known mappings,
with the case's train dictionary (so it is a diagnostic, never an unsupervised run):

- `random`: the encoder frozen at the game's random start (the generator's rate 0): how well the
  discriminators tell the two sides apart when nothing is aligned;
- `truth`: the encoder frozen at supervised Procrustes (fitted in the game's space on the train
  dictionary): how well they tell them apart at the translation. Near `random`, the game has no
  reason to prefer the translation;
- `played`: the game as shipped, started at supervised Procrustes: does it stay there, or does
  matching the distributions lead it away (test CSLS P@1 during the game, no refinement)?

The accuracy is the monitor D1's (it never feeds the generator), on each step's batch before its
update, averaged over the last quarter of the steps.

  python benchmarks/game_at_truth.py --flagfile=experiments/adversarial.flags \
      --src_emb=A.vec --tgt_emb=B.vec --train_dictionary=T --test_dictionary=D --workdir=W

`benchmarks/bench_ladder.py --methods=truth` runs it on ladder cases. Writes W/game_at_truth.json
(and nothing else: a run's own files in W stay as they are).
"""

import dataclasses
import json
import os
import sys
import time

from absl import app, flags
import jax.numpy as jnp
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
# pylint: disable=g-import-not-at-top
from clweadv import config, experiment, refine, train
from clweadv.dictionary import read_dictionary
from clweadv.errors import InputError, exit_on_input_error, parse_flags
from clweadv.fileio import write_json
# pylint: enable=g-import-not-at-top

FLAGS = flags.FLAGS
flags.DEFINE_integer("truth_steps", 4000, "Steps of each of the three games.")
OUT = "game_at_truth.json"


def play(run, cfg, data, *, kernel_DxE, frozen, steps):
  """The game from `kernel_DxE` (None: its random start). Returns {monitor_acc: mean of the last
  quarter of the steps, p1: {step: test CSLS P@1 in the game's space}}."""
  cfg = dataclasses.replace(cfg, gen_lr=0.0) if frozen else cfg
  d_src, d_tgt = run.game_src_x.shape[1], run.game_tgt_x.shape[1]
  setup = train.make_setup(cfg, d_src=d_src, d_tgt=d_tgt)
  state = train.create_train_state(setup, seed=cfg.seed, d_src=d_src, d_tgt=d_tgt)
  if kernel_DxE is not None:
    state = state.replace(gen_params=dict(state.gen_params, kernel=jnp.asarray(kernel_DxE)))
  p1 = lambda: run.evaluate(train.encode_all(setup, state.gen_params, run.game_src_x))[0].get(
      "test/csls/p@1")
  accs, curve = [], {0: p1()}
  fns = {}
  for step in range(0, steps, cfg.log_every):
    n = min(cfg.log_every, steps - step)
    fns[n] = fns.get(n) or train.make_train_steps(setup, n)
    state, metrics = fns[n](state, data)
    accs.append(float(metrics["monitor/disc_acc"]))
    if (step + n) % cfg.eval_every == 0 or step + n == steps:
      curve[step + n] = p1()
  return {"monitor_acc": round(float(np.mean(accs[-max(1, len(accs) // 4):])), 3), "p1": curve}


def diagnose():
  train_path = FLAGS.train_dictionary
  if not train_path:
    raise InputError("--train_dictionary: needed (the supervised mapping the game starts from)")
  if not os.path.isfile(train_path):  # Before minutes of loading embeddings.
    raise InputError(f"--train_dictionary={train_path}: no such file")
  FLAGS.train_dictionary = None  # Config refuses a dictionary to the adversarial model.
  cfg = config.from_flags()
  t0 = time.time()
  run = experiment.Run(cfg)
  src_rows, tgt_rows = read_dictionary(train_path, src_index=run.src.index,
                                       tgt_index=run.tgt.index).pairs()
  truth = refine.procrustes(run.game_src_x[src_rows], run.game_tgt_x[tgt_rows])
  out, data = {}, run.game_data()   # The same words and sampling for the three games.
  for name, kernel, frozen in (("random", None, True), ("truth", truth, True),
                               ("played", truth, False)):
    out[name] = play(run, cfg, data, kernel_DxE=kernel, frozen=frozen, steps=FLAGS.truth_steps)
    experiment.log(f"{name}: monitor accuracy {out[name]['monitor_acc']}, test CSLS P@1 "
                   f"{' '.join(f'{k}:{v}' for k, v in out[name]['p1'].items())}")
  out["seconds"] = round(time.time() - t0, 1)
  os.makedirs(cfg.workdir, exist_ok=True)
  write_json(os.path.join(cfg.workdir, OUT), out)
  print(json.dumps(out))


def main(argv):
  del argv
  exit_on_input_error(diagnose)


if __name__ == "__main__":
  config.define_flags()
  app.run(main, flags_parser=parse_flags)
