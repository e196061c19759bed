"""A whole run: load, train with evaluation and checkpoints, select, refine, evaluate, export."""

import contextlib
import fcntl
import json
import os
import sys
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from clweadv import refine, train, watchdog
from clweadv.bli import evaluation, retrieval
from clweadv.checkpoint import Checkpointer
from clweadv.config import Config
from clweadv.dictionary import read_dictionary
from clweadv.embeddings import read_embeddings, write_vec
from clweadv.errors import InputError, Interrupted, deferred_interrupts, warn
from clweadv.fileio import atomic_open, read_run_config, save_npy, write_json
from clweadv.metrics import MetricsWriter
from clweadv.normalize import principal_axes, unit_rows
from clweadv.progress import Progress
from clweadv.sampling import cdf_from_probabilities, sampling_probabilities, zipf_counts


def log(msg):
  print(msg, file=sys.stderr, flush=True)


@contextlib.contextmanager
def workdir_lock(workdir):
  """Refuses a second run on the same work dir while the first holds it.

  A work dir this run created is removed again when the run leaves nothing in it but the lock
  (bad input found before anything was written).
  """
  created = not os.path.isdir(workdir)
  path = os.path.join(workdir, ".lock")
  try:
    os.makedirs(workdir, exist_ok=True)
    f = open(path, "a+", encoding="utf-8")
  except OSError as e:
    why = ("it is a file, not a directory" if os.path.isfile(workdir) else
           f"{e.strerror.lower()}: {e.filename}" if e.filename else str(e))
    raise InputError(f"--workdir={workdir}: cannot use it as the work dir ({why})")
  try:
    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
  except OSError:
    f.seek(0)
    owner = f.read().strip() or "?"
    f.close()
    raise InputError(f"--workdir={workdir}: in use by another run (pid {owner}); wait for it or "
                     "choose another --workdir")
  f.seek(0)
  f.truncate()
  f.write(str(os.getpid()))
  f.flush()
  try:
    yield
  finally:
    if created and os.listdir(workdir) == [".lock"]:
      os.remove(path)
      os.rmdir(workdir)
    fcntl.flock(f, fcntl.LOCK_UN)
    f.close()


def _check_config(cfg, workdir):
  """The run's config.json contents; on resume, refuses settings that disagree with the
  checkpoints. Written by the caller once the checkpoint (if any) is restored."""
  path = os.path.join(workdir, "config.json")
  current = {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(cfg).items()}
  # An existing config.json is read first: a damaged one stops the run before anything is
  # written over it.
  old = read_run_config(workdir) if os.path.exists(path) else {}
  if os.path.isdir(os.path.join(workdir, "checkpoints")):
    for key in Config.ARCHITECTURE:
      was = old.get(key, Config.IMPLIED.get(key, current[key])) if old else current[key]
      if was != current[key]:
        raise InputError(f"--{key}={current[key]} disagrees with the run being resumed in "
                         f"{workdir} ({key}={was}); use a new --workdir")
  return current


def _sampling_cdf(emb, cfg, side):
  counts = emb.counts
  if counts is None and cfg.sampling != "uniform" and cfg.steps:
    warn(f"no --{side}_vocab counts: {cfg.sampling} sampling uses Zipf's law on the "
        "frequency rank of the embedding file")
    counts = zipf_counts(len(emb))
  elif counts is None:
    counts = np.ones(len(emb))
  p = sampling_probabilities(counts, kind=cfg.sampling, t=cfg.subsample_t)
  n = game_vocab(emb, cfg)
  if n < len(p):  # The game over the most frequent words only.
    p = np.where(np.arange(len(p)) < n, p, 0.0)
  return cdf_from_probabilities(p)


# --disc_min_count never leaves the game fewer words than this: over 2,000 words the game maps
# the English halves cut to 0.5M tokens a side, over 1,000 it did not (docs/ladder.md).
GAME_MIN_WORDS = 2000


def game_vocab(emb, cfg):
  """How many of one side's most frequent words the game plays over: `--disc_vocab`, cut to the
  words seen at least `--disc_min_count` times where the side has counts (the vectors of rarer
  words are noisy in a small corpus), never below GAME_MIN_WORDS."""
  n = min(cfg.disc_vocab or len(emb), len(emb))
  if cfg.disc_min_count and emb.counts is not None:
    seen = int(np.sum(np.asarray(emb.counts) >= cfg.disc_min_count))
    n = min(n, max(seen, GAME_MIN_WORDS))
  return n


class Candidate(NamedTuple):
  """One mapping the game offers to `_select`: a run's step and its encoder there."""
  mapped: np.ndarray         # The source mapped by it (the full spaces, where the game projects).
  params: dict               # The encoder's params.
  criterion: float | None    # The unsupervised criterion at that step; None where not evaluated.
  step: int
  restart: int               # Which of the `--restarts` runs played side by side.


class Run:
  """State shared by the phases of one experiment."""

  def __init__(self, cfg):
    self.cfg = cfg
    self.t0 = time.time()
    log(f"loading {cfg.src_emb}")
    self.src = read_embeddings(cfg.src_emb, max_vocab=cfg.max_vocab, vocab_path=cfg.src_vocab)
    log(f"loading {cfg.tgt_emb}")
    self.tgt = read_embeddings(cfg.tgt_emb, max_vocab=cfg.max_vocab, vocab_path=cfg.tgt_vocab)
    prep = dict(normalize_steps=cfg.normalize, standardize=cfg.standardize,
                center_n=cfg.center_vocab)
    self.src_x = train.preprocess(self.src.vectors, **prep)
    self.tgt_x = train.preprocess(self.tgt.vectors, **prep)
    # --game_projection=pca: the larger side's principal axes (D x d, or None), and the spaces the
    # game plays in (the full ones otherwise).
    self.axes = [None, None]
    if cfg.game_projection == "pca" and self.src.dim != self.tgt.dim:  # --model=aae (config).
      d, big = min(self.src.dim, self.tgt.dim), int(self.tgt.dim > self.src.dim)
      x = (self.src_x, self.tgt_x)[big]
      self.axes[big] = principal_axes(x[:game_vocab((self.src, self.tgt)[big], cfg)], k=d)
      log(f"the game plays in {d} dimensions: the {'target' if big else 'source'} projected onto "
          f"its {d} principal axes (--game_projection=pca)")
    self.game_src_x, self.game_tgt_x = (
        x if p is None else unit_rows(x @ p) for x, p in zip((self.src_x, self.tgt_x), self.axes))
    self.test_dict = None
    if cfg.test_dictionary:
      self.test_dict = read_dictionary(cfg.test_dictionary, src_index=self.src.index,
                                       tgt_index=self.tgt.index)
    log(f"{cfg.src_lang}: {len(self.src)} x {self.src.dim}, {cfg.tgt_lang}: {len(self.tgt)} x "
        f"{self.tgt.dim}")
    # --eval_vocab: what evaluations during training search (the final one searches all).
    self.eval_n = cfg.eval_vocab if cfg.eval_vocab and cfg.eval_vocab < max(
        len(self.src), len(self.tgt)) else None
    self.eval_test_dict = self.test_dict
    if self.eval_n:
      queries = ""
      if self.test_dict is not None:
        top = lambda index: {w: i for w, i in index.items() if i < self.eval_n}
        try:
          self.eval_test_dict = read_dictionary(cfg.test_dictionary, src_index=top(self.src.index),
                                                tgt_index=top(self.tgt.index), quiet=True)
        except InputError:  # No test pair among the most frequent words.
          self.eval_test_dict = None
        kept = self.eval_test_dict.num_queries if self.eval_test_dict else 0
        queries = f", {kept} of {self.test_dict.num_queries} test queries"
      log(f"evaluations during training search the {self.eval_n} most frequent words of each "
          f"side{queries} (--eval_vocab)")

  # -- evaluation --------------------------------------------------------------------------
  def evaluate(self, mapped_NxE, *, full=False):
    """The criterion, the diversity and (with a test dictionary) BLI of one mapping: over all
    words when `full` (with P@5 and P@10), else over `--eval_vocab` words (P@1 only).

    Returns (metrics, the BLI block or None, CSLS's r_S of the targets searched)."""
    cfg = self.cfg
    # During training the mapping lives in the game's space (`--game_projection`).
    tgt_x, test_dict = (self.tgt_x if full else self.game_tgt_x), self.test_dict
    if self.eval_n and not full:
      mapped_NxE, tgt_x = mapped_NxE[:self.eval_n], tgt_x[:self.eval_n]
      test_dict = self.eval_test_dict
    # r_S (every target against every mapped source) is the costly part of CSLS: computed once.
    progress = Progress(f"final evaluation: CSLS neighbourhoods of {len(self.tgt_x)} target "
                        "words") if full else None
    r_tgt = retrieval.mean_topk_similarity(tgt_x, mapped_NxE, k=cfg.csls_k, progress=progress)
    out = {
        "valid/mean_cosine": evaluation.mean_cosine_criterion(
            src_mapped_NxE=mapped_NxE, tgt_MxE=tgt_x, top_n=cfg.criterion_vocab,
            csls_k=cfg.csls_k, r_tgt_M=r_tgt),
        "valid/diversity": evaluation.diversity(mapped_NxE=mapped_NxE[:cfg.criterion_vocab]),
    }
    bli = None
    if test_dict is not None:
      bli = evaluation.bli(src_mapped_NxE=mapped_NxE, tgt_MxE=tgt_x,
                           dictionary=test_dict, methods=cfg.retrieval,
                           ks=(1, 5, 10) if full else (1,), csls_k=cfg.csls_k, r_tgt_M=r_tgt)
      for method in ("nn", "csls"):
        if bli.get(method):
          out[f"test/{method}/p@1"] = bli[method]["p@1"]
    return out, bli, r_tgt

  # -- adversarial training ------------------------------------------------------------------
  def train(self, writer_factory, *, workdir, seed):
    """Trains `--restarts` runs side by side (seeds `--seed`, `--seed`+1, ...) with checkpoints
    and resume, evaluating each every `--eval_every` steps.

    Returns (the `Candidate`s: for every run, its evaluation step with the best unsupervised
    criterion and, where refinement follows and the game played its whole budget, its last step
    too; the steps trained: `--steps`, or fewer where `--early_stop_margin` stopped the game).
    """
    cfg = self.cfg
    mesh = train.make_mesh()
    if cfg.batch_size % mesh.size:
      raise InputError(f"--batch_size={cfg.batch_size}: must be a multiple of the {mesh.size} "
                       "devices (the batch is split across them)")
    d_src, d_tgt = self.game_src_x.shape[1], self.game_tgt_x.shape[1]
    setup = train.make_setup(cfg, d_src=d_src, d_tgt=d_tgt, mesh=mesh)
    if cfg.gen_lr_dim:
      lr = train.generator_lr(cfg, d_src=d_src, d_tgt=d_tgt)
      log(f"generator learning rate {lr:.3g} (--gen_lr={cfg.gen_lr} at "
          f"--gen_lr_dim={cfg.gen_lr_dim} dimensions)")
    if cfg.disc_min_count:
      log(f"the game plays over the {game_vocab(self.src, cfg)} and {game_vocab(self.tgt, cfg)} "
          f"most frequent words (--disc_vocab={cfg.disc_vocab}, --disc_min_count="
          f"{cfg.disc_min_count}{'' if self.src.counts is not None else '; no --src_vocab counts'}"
          f"{'' if self.tgt.counts is not None else '; no --tgt_vocab counts'})")
    state = train.create_restart_states(setup, seeds=[seed + r for r in range(cfg.restarts)],
                                        d_src=d_src, d_tgt=d_tgt)
    shape = (cfg.restarts,) if cfg.restarts > 1 else ()
    # A copy: the state's own arrays are donated to (and deleted by) the next train call.
    best = {"params": jax.tree_util.tree_map(jnp.copy, state.gen_params),
            "criterion": jnp.full(shape, -np.inf, jnp.float32),
            "step": jnp.full(shape, -1, jnp.int32),
            # The criterion at the first evaluation: a mapping already (semi-)orthogonal whose
            # means and main directions the game has aligned, but not yet its words (the
            # initial random map scores lower: 0.47 against 0.58 after 500 steps that translate
            # nothing on 2,000 GloVe words).
            "first": jnp.full(shape, np.nan, jnp.float32)}
    def aligned(resumed=False):  # --early_stop_margin: has a run's game found an alignment?
      gain = np.nan_to_num(np.asarray(best["criterion"]) - np.asarray(best["first"]), nan=-1)
      if not cfg.early_stop_margin or np.max(gain) < cfg.early_stop_margin:
        return False
      log(f"adversarial training {'had stopped' if resumed else 'stops'} at step {step}: the "
          f"criterion is {np.max(gain):.3f} above its first evaluation's "
          f"(--early_stop_margin={cfg.early_stop_margin})")
      return True
    ckpt = Checkpointer(workdir)
    step = ckpt.latest_step() or 0
    if step:
      restored = ckpt.restore(step, {"state": state, "best": best})
      state, best = restored["state"], restored["best"]
      log(f"resuming {workdir} from step {step}")
    stop = aligned(resumed=True)
    writer = writer_factory(step)
    state, data = train.replicate((state, self.game_data()), mesh)
    fns = {}
    with deferred_interrupts() as pending:
      try:
        while step < cfg.steps and not stop:
          n = min(cfg.log_every - step % cfg.log_every, cfg.steps - step)
          if n not in fns:
            fns[n] = train.make_train_steps(setup, n, restarts=cfg.restarts)
          tick = time.time()
          state, metrics = fns[n](state, data)
          with watchdog.waiting(f"training steps {step + 1}-{step + n}", devices=mesh.size):
            metrics = jax.device_get(metrics)
          metrics = {k: float(np.mean(v)) for k, v in metrics.items()}
          step += n
          bad = [k for k, v in metrics.items() if not np.isfinite(v)]
          if bad:
            raise train.NonFiniteLossError(
                f"non-finite {bad[0]} at step {step} (within steps {step - n + 1}-{step}); the "
                f"last good checkpoint is step {ckpt.latest_step() or 'none'} in {ckpt.directory}")
          metrics["steps_per_second"] = n / max(time.time() - tick, 1e-9)
          if step % cfg.eval_every == 0 or step == cfg.steps:
            best = self._evaluate_runs(setup, state, best, step=step, metrics=metrics)
            stop = aligned()
          writer.write(step, metrics)
          if step % cfg.checkpoint_every == 0 or step == cfg.steps or stop:
            ckpt.save(step, {"state": state, "best": best})
          signum = pending()  # SIGINT/SIGTERM: save this step, then stop.
          if signum is not None:
            if ckpt.latest_step() != step:
              ckpt.save(step, {"state": state, "best": best})
            raise Interrupted(signum, step)
      finally:
        writer.close()
        ckpt.close()
    # A game that escapes late in its budget may not yet have passed the criterion of an earlier
    # false rise (mapped words drawn together, translating nothing): its last step is a
    # candidate too, ranked after one refinement iteration as restarts are (`_select`).
    late = not stop and _ranked_after_refinement(cfg)
    candidates = []
    for r in range(cfg.restarts):
      best_step = int(np.atleast_1d(best["step"])[r])
      if best_step >= 0:
        candidates.append((self._run_params(best["params"], r),
                           float(np.atleast_1d(best["criterion"])[r]), best_step, r))
      if best_step < 0 or (late and best_step != step):
        candidates.append((self._run_params(state.gen_params, r), None, step, r))
    return [Candidate(*self._mapped(setup, params), crit, at, r)
            for params, crit, at, r in candidates], step

  def _mapped(self, setup, params):
    """(the source mapped by one run's encoder, its params), lifted to the full spaces where the
    game plays projected."""
    if any(p is not None for p in self.axes):
      params = self._lift(params)
      return self.src_x @ np.asarray(params["kernel"]) + np.asarray(params["enc_bias"]), params
    return train.encode_all(setup, params, self.src_x), params

  def game_data(self):
    """The spaces the game plays in and the sampling of each side's words, on device."""
    return train.Data(src_NxD=jnp.asarray(self.game_src_x), tgt_MxE=jnp.asarray(self.game_tgt_x),
                      src_cdf_N=jnp.asarray(_sampling_cdf(self.src, self.cfg, "src")),
                      tgt_cdf_M=jnp.asarray(_sampling_cdf(self.tgt, self.cfg, "tgt")))

  def _lift(self, params):
    """A linear encoder trained in the game's space as the same map between the full spaces:
    kernel P_src K P_tgt^T, bias b P_tgt^T (`--game_projection`)."""
    p_src, p_tgt = self.axes
    kernel, bias = np.asarray(params["kernel"]), np.asarray(params["enc_bias"])
    if p_src is not None:
      kernel = p_src @ kernel
    if p_tgt is not None:
      kernel, bias = kernel @ p_tgt.T, bias @ p_tgt.T
    return dict(params, kernel=kernel, enc_bias=bias)

  def _run_params(self, tree, r):
    """Run r's part of a pytree stacked over `--restarts` runs."""
    return train.take(tree, r) if self.cfg.restarts > 1 else tree

  def _evaluate_runs(self, setup, state, best, *, step, metrics):
    """Evaluates every run at `step` into `metrics` (the run with the best criterion speaks for
    the step) and returns `best` with each run's parameters kept where its criterion improved."""
    runs = self.cfg.restarts
    shape = (runs,) if runs > 1 else ()
    tick = time.time()
    # Only the words the evaluation searches are mapped (all of them without --eval_vocab).
    evals = [self.evaluate(train.encode_all(setup, self._run_params(state.gen_params, r),
                                            self.game_src_x[:self.eval_n]))[0]
             for r in range(runs)]
    crit = np.array([v["valid/mean_cosine"] for v in evals], np.float32).reshape(shape)
    top = int(np.argmax(np.atleast_1d(crit)))
    metrics.update(evals[top])
    if runs > 1:
      metrics["valid/restart"] = top
    metrics["valid/seconds"] = time.time() - tick
    better = jnp.asarray(crit > np.asarray(best["criterion"]))
    pick = lambda new, old: jnp.where(better.reshape(better.shape + (1,) * (
        new.ndim - better.ndim)), new, old)
    return {"params": jax.tree_util.tree_map(pick, state.gen_params, best["params"]),
            "criterion": pick(jnp.asarray(crit), best["criterion"]),
            "step": pick(jnp.full(shape, step, jnp.int32), best["step"]),
            "first": jnp.where(jnp.isnan(best["first"]), crit, best["first"])}


def linear_mapping(params):
  """The (d_src x d_tgt) matrix of a linear generator, or None for a deep one."""
  return np.asarray(params["kernel"]) if "kernel" in params else None


def run_experiment(cfg):
  with workdir_lock(cfg.workdir):
    return _run(cfg)


def _run(cfg):
  log(f"work dir: {os.path.abspath(cfg.workdir)}")
  config_json = _check_config(cfg, cfg.workdir)
  write_config = lambda: write_json(os.path.join(cfg.workdir, "config.json"), config_json)
  run = Run(cfg)
  selected_step, W, restart, judged = None, None, None, {}
  if cfg.model == "procrustes":
    train_dict = read_dictionary(cfg.train_dictionary, src_index=run.src.index,
                                 tgt_index=run.tgt.index)
    src_rows, tgt_rows = train_dict.pairs()
    W = refine.procrustes(run.src_x[src_rows], run.tgt_x[tgt_rows])
    mapped = run.src_x @ W
    write_config()
    MetricsWriter(cfg.workdir, total_steps=0).close()
  else:
    mapped, W, selected_step, restart, judged = _adversarial(run, write_config)
  if cfg.model == "procrustes" and (cfg.init != "none" or cfg.refine_iters):
    mapped, W = _self_learn(run, mapped, W, workdir=cfg.workdir)
  valid, bli, r_tgt = run.evaluate(mapped, full=True)
  table = evaluation.neighbours_table(
      words=list(cfg.words), src_index=run.src.index, src_mapped_NxE=mapped,
      tgt_words=run.tgt.words, tgt_MxE=run.tgt_x, k=10)
  with atomic_open(os.path.join(cfg.workdir, "neighbours.md")) as f:
    f.write(table)
  if cfg.export:
    _export(run, mapped, W, r_tgt_M=r_tgt)
  # The adversarial method's rounds have judged their mapping already; other runs are judged here.
  criterion = judged.pop("criterion", None)
  if criterion is None:
    judged["chance_criterion"] = _chance_criterion(run)
    criterion = _criterion(run, _judged_mapping(run, mapped, W))
  failure = failure_reason(criterion=criterion, chance=judged["chance_criterion"],
                           margin=cfg.success_margin or FAILURE_MARGIN,
                           diversity=valid["valid/diversity"])
  judged.update(success=failure is None, failure=failure,
                chance_criterion=round(judged["chance_criterion"], 4),
                judged_criterion=round(criterion, 4))
  results = {
      "experiment": cfg.experiment, "src": cfg.src_lang, "tgt": cfg.tgt_lang,
      # What ran: no model when no adversarial step was taken (a dictionary-free start and
      # refinement alone); the start and the refinement iterations beside it.
      "model": cfg.model if cfg.model == "procrustes" or cfg.steps else "none",
      "steps": cfg.steps if cfg.model != "procrustes" else 0,
      "init": cfg.init, "refine_iters": cfg.refine_iters,
      "wall_seconds": round(time.time() - run.t0, 1), "selected_step": selected_step,
      "restarts": cfg.restarts, "selected_restart": restart, **judged,
      "bli": bli,
      "criterion": {"mean_cosine": _round_or_none(valid["valid/mean_cosine"])},
      "diversity": _round_or_none(valid["valid/diversity"]),
  }
  write_json(os.path.join(cfg.workdir, "results.json"), results)
  print(table)
  print(json.dumps(results, indent=2))
  csls = (bli or {}).get("csls") or {}
  log(f"done in {results['wall_seconds']:.0f} s: criterion {results['criterion']['mean_cosine']}"
      + (f", CSLS P@1 {csls['p@1']:.1f}" if "p@1" in csls else "")
      + f"; results in {os.path.join(os.path.abspath(cfg.workdir), 'results.json')}")
  if failure:
    warn(f"the mapping probably failed: {failure}")
  return results


# The judgement of every run: how far above chance a mapping's unsupervised criterion must be,
# when --success_margin does not say (failed runs ended 0.02-0.09 above chance, working ones
# 0.10-0.58 above it: docs/methods.md), and the mean pairwise cosine of a collapsed mapping (the
# paper's GAN: 0.98-0.99; working maps: below 0.1).
FAILURE_MARGIN = 0.1
COLLAPSED_DIVERSITY = 0.5
JUDGE_REFINE_ITERS = 3


def failure_reason(*, criterion, chance, margin, diversity):
  """Why the unsupervised numbers say a mapping failed, or None. No dictionary is involved."""
  if diversity is not None and diversity >= COLLAPSED_DIVERSITY:
    return (f"it collapsed: the mapped words point nearly one way (mean pairwise cosine "
            f"{diversity:.2f})")
  if criterion < chance + margin:
    return (f"it is no better than a random rotation: its unsupervised criterion {criterion:.3f} "
            f"is not {margin:g} above that of refined random rotations ({chance:.3f})")
  return None


def _chance_criterion(run):
  """What refined random rotations reach on these spaces (`refine.chance_criterion`)."""
  cfg = run.cfg
  log(f"judging the mapping against 2 random rotations, refined {JUDGE_REFINE_ITERS} "
      "iterations each")
  return refine.chance_criterion(
      src_NxD=run.src_x, tgt_MxE=run.tgt_x, refine_iters=JUDGE_REFINE_ITERS,
      vocab=cfg.refine_vocab, criterion_vocab=cfg.criterion_vocab, csls_k=cfg.csls_k)


def _judged_mapping(run, mapped_NxE, W):
  """The mapping as chance's random rotations are judged: (semi-)orthogonal and refined
  `JUDGE_REFINE_ITERS` iterations. A free linear map (the paper's encoder) is replaced by the
  nearest (semi-)orthogonal one, a non-linear one by the Procrustes map of the dictionary it
  induces: unrefined, a map that merely aligns the two spaces' means or main directions scores a
  criterion well above random rotations (0.31 vs 0.18 after 200 steps of the paper's game on the
  shipped slices, translating nothing)."""
  cfg = run.cfg
  if W is None:
    pairs = refine.induce_dictionary(src_mapped_NxE=mapped_NxE, tgt_MxE=run.tgt_x,
                                     vocab=cfg.refine_vocab, csls_k=cfg.csls_k)
    W = refine.procrustes(run.src_x[pairs[:, 0]], run.tgt_x[pairs[:, 1]])
  else:
    W = np.asarray(W)
    W = refine.procrustes(np.eye(W.shape[0], dtype=np.float32), W)  # Nearest; itself if so.
  if cfg.refine_iters < JUDGE_REFINE_ITERS:
    W = refine.refine(src_NxD=run.src_x, tgt_MxE=run.tgt_x, W=W, iters=JUDGE_REFINE_ITERS,
                      vocab=cfg.refine_vocab, csls_k=cfg.csls_k,
                      criterion_vocab=cfg.criterion_vocab)
  return run.src_x @ W


def _criterion(run, mapped):
  cfg = run.cfg
  return refine.unsupervised_criterion(src_mapped_NxE=mapped[:cfg.criterion_vocab],
                                       tgt_MxE=run.tgt_x, vocab=cfg.criterion_vocab,
                                       csls_k=cfg.csls_k)


ROUND_SEED_STRIDE = 1000  # Round k trains seeds --seed + 1000 k + r: apart from other --seeds.


def _adversarial(run, write_config):
  """Adversarial training, selection among restarts, then refinement; with `--success_margin`,
  judged against chance and tried again with new seeds (up to `--restart_rounds` rounds, each in
  its own sub-directory `roundK` of the work dir) until the criterion says it succeeded.

  Returns (mapped source, W or None, selected step, selected restart, judgement fields).
  """
  cfg = run.cfg
  chance, best = None, None
  for k in range(cfg.restart_rounds):
    workdir = cfg.workdir if k == 0 else os.path.join(cfg.workdir, f"round{k}")
    os.makedirs(workdir, exist_ok=True)

    def writer_factory(start, workdir=workdir):  # Called once a checkpoint, if any, is restored.
      write_config()
      return MetricsWriter(workdir, resume_step=start, total_steps=cfg.steps)
    seed = cfg.seed + ROUND_SEED_STRIDE * k
    candidates, trained = run.train(writer_factory, workdir=workdir, seed=seed)
    chosen = _select(run, candidates, seed=seed)
    mapped, step, restart = chosen.mapped, chosen.step, chosen.restart
    W = linear_mapping(chosen.params)
    if cfg.init != "none" or cfg.refine_iters:
      mapped, W = _self_learn(run, mapped, W, workdir=workdir)
    out = {"mapped": mapped, "W": W, "step": step, "restart": restart, "round": k,
           "criterion": None, "trained_steps": trained}
    if not cfg.success_margin:
      return mapped, W, step, out["restart"], {"trained_steps": trained}
    if chance is None:
      chance = _chance_criterion(run)
    out["criterion"] = _criterion(run, _judged_mapping(run, mapped, W))
    if best is None or out["criterion"] > best["criterion"]:
      best = out
    success = best["criterion"] >= chance + cfg.success_margin
    log(f"round {k + 1}: criterion {out['criterion']:.4f}, chance {chance:.4f} + margin "
        f"{cfg.success_margin}: {'success' if success else 'failed'}")
    if success:
      break
  judged = {"trained_steps": best["trained_steps"], "rounds": k + 1,
            "selected_round": best["round"], "chance_criterion": chance,
            "criterion": best["criterion"]}
  if not success:
    log(f"no round reached the criterion of chance ({chance:.4f}) + {cfg.success_margin}: the "
        "best round is kept")
  return best["mapped"], best["W"], best["step"], best["restart"], judged


def _ranked_after_refinement(cfg):
  """Whether refinement follows the game, so that its candidates are ranked after one
  refinement iteration (`_select`)."""
  return bool(cfg.refine_iters or cfg.init == "aae")


def _select(run, candidates, *, seed):
  """The `Candidate` to keep among those of the restarts (`Run.train`).

  With refinement to follow, each linear candidate is ranked by the unsupervised criterion after
  one refinement iteration (refinement amplifies a weak but right start: the criterion after it
  separates right from wrong starts better than the adversarial stage's own); otherwise by its
  criterion.
  """
  cfg = run.cfg
  if len(candidates) == 1:
    return candidates[0]
  scores = []
  for c in candidates:
    W, crit = linear_mapping(c.params), c.criterion
    if W is not None and _ranked_after_refinement(cfg):
      W = refine.refine(src_NxD=run.src_x, tgt_MxE=run.tgt_x, W=W, iters=1,
                        vocab=cfg.refine_vocab, csls_k=cfg.csls_k,
                        criterion_vocab=cfg.criterion_vocab)
      crit = refine.unsupervised_criterion(
          src_mapped_NxE=run.src_x[:cfg.criterion_vocab] @ W, tgt_MxE=run.tgt_x,
          vocab=cfg.criterion_vocab, csls_k=cfg.csls_k)
    scores.append(-np.inf if crit is None else crit)
    log(f"restart {c.restart} (seed {seed + c.restart}), step {c.step}: criterion "
        f"{scores[-1]:.4f}")
  return candidates[int(np.argmax(scores))]


def _self_learn(run, mapped_NxE, W, *, workdir):
  """Self-learning from the similarity init or the autoencoder's mapping, then refinement."""
  cfg = run.cfg
  sink = MetricsWriter(workdir, resume_step=2 ** 62, total_steps=0,
                       phase_totals={"refine": cfg.refine_iters})
  offset = [cfg.steps if cfg.model != "procrustes" else 0]

  def log_fn(row):
    offset[0] += 1
    sink.write(offset[0], row)
  try:
    if W is None:  # A non-linear generator: start from the dictionary its mapping induces.
      pairs = refine.induce_dictionary(src_mapped_NxE=mapped_NxE, tgt_MxE=run.tgt_x,
                                       vocab=cfg.refine_vocab, csls_k=cfg.csls_k)
      W = refine.procrustes(run.src_x[pairs[:, 0]], run.tgt_x[pairs[:, 1]])
    if cfg.init != "none":
      W, info = refine.unsupervised_map(
          src_NxD=run.src_x, tgt_MxE=run.tgt_x, init=cfg.init, W_init=W, seed=cfg.seed,
          src_words=run.src.words, tgt_words=run.tgt.words, refine_iters=cfg.refine_iters,
          refine_vocab=cfg.refine_vocab, criterion_vocab=cfg.criterion_vocab, csls_k=cfg.csls_k,
          log_fn=log_fn)
      log(f"unsupervised mapping ({cfg.init}): criterion {info['criterion']:.4f}, "
          f"{info['seconds']:.0f} s")
    elif cfg.refine_iters:
      W = refine.refine(src_NxD=run.src_x, tgt_MxE=run.tgt_x, W=W, iters=cfg.refine_iters,
                        vocab=cfg.refine_vocab, csls_k=cfg.csls_k,
                        criterion_vocab=cfg.criterion_vocab, log_fn=log_fn)
  finally:
    sink.close()
  return run.src_x @ W, W


def _export(run, mapped_NxE, W, *, r_tgt_M):
  """Mapped vectors of both languages, the mapping, and the induced dictionary, atomically
  (`r_tgt_M`: CSLS's r_S of every target word, from the final evaluation)."""
  cfg = run.cfg
  d = cfg.workdir
  write_vec(os.path.join(d, f"vectors-{cfg.src_lang}.vec"), run.src.words, mapped_NxE)
  write_vec(os.path.join(d, f"vectors-{cfg.tgt_lang}.vec"), run.tgt.words, run.tgt_x)
  if W is not None:
    save_npy(os.path.join(d, "mapping.npy"), W)
  n = min(cfg.export_vocab, len(run.src))
  if n:
    scores, ids, _ = retrieval.csls_translate(src_mapped_NxE=mapped_NxE, tgt_MxE=run.tgt_x,
                                              query_ids=np.arange(n), k=1, csls_k=cfg.csls_k,
                                              r_tgt_M=r_tgt_M)
    scores, ids = np.asarray(scores)[:, 0], np.asarray(ids)[:, 0]
    with atomic_open(os.path.join(d, f"dictionary.{cfg.src_lang}-{cfg.tgt_lang}.tsv")) as f:
      for i in range(n):
        f.write(f"{run.src.words[i]}\t{run.tgt.words[ids[i]]}\t{scores[i]:.4f}\n")


def _round_or_none(x):
  """Cosines (criterion, diversity) stay in [-1, 1]; BLI precisions are percentages."""
  return None if x is None or not np.isfinite(x) else round(float(x), 4)
