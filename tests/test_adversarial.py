"""The adversarial method end to end (`experiments/adversarial.flags`) on an exact rotation of a
shipped real slice, with target words renamed so that no spelling is shared."""

import json
import os

import numpy as np
import pytest

from clweadv.embeddings import read_embeddings, write_vec
from conftest import EN_GLOVE, ROOT
from test_main_cli import run_main

FLAGFILE = os.path.join(ROOT, "experiments", "adversarial.flags")


def rotation(dim, *, seed):
  return np.linalg.qr(np.random.default_rng(seed).standard_normal((dim, dim)))[0]


def rotated_case(tmp_path, *, vocab=2000, seed=7):
  """The `vocab` most frequent GloVe words and an exact random rotation of them (target words
  prefixed with '~'); the identity dictionary of 1,500 words after the first 400."""
  emb = read_embeddings(EN_GLOVE, max_vocab=vocab)
  q = rotation(emb.dim, seed=seed)
  src, tgt, dico = (str(tmp_path / n) for n in ("src.vec", "tgt.vec", "test.txt"))
  write_vec(src, emb.words, emb.vectors)
  write_vec(tgt, ["~" + w for w in emb.words], emb.vectors @ q.astype(np.float32))
  with open(dico, "w", encoding="utf-8") as f:
    f.writelines(f"{w} ~{w}\n" for w in emb.words[400:1900])
  return src, tgt, dico


def _results(workdir):
  with open(os.path.join(workdir, "results.json"), encoding="utf-8") as f:
    return json.load(f)


def _adversarial(tmp_path, *args, vocab=2000, timeout=300):
  src, tgt, dico = rotated_case(tmp_path, vocab=vocab)
  workdir = tmp_path / "run"
  proc = run_main(f"--flagfile={FLAGFILE}", f"--src_emb={src}", f"--tgt_emb={tgt}",
                  f"--test_dictionary={dico}", f"--workdir={workdir}", f"--disc_vocab={vocab}",
                  f"--criterion_vocab={vocab}", f"--refine_vocab={vocab}", "--export_vocab=100",
                  *args, timeout=timeout)
  assert proc.returncode == 0, proc.stderr[-3000:]
  with open(workdir / "config.json", encoding="utf-8") as f:
    cfg = json.load(f)
  assert (cfg["model"], cfg["init"]) == ("aae", "aae") and cfg["steps"] > 0
  w = np.load(workdir / "mapping.npy")
  assert w.shape == (50, 50)
  # The exported map is refinement's Procrustes solution (orthogonal), not the raw kernel.
  np.testing.assert_allclose(w @ w.T, np.eye(50), atol=1e-4)
  return _results(workdir), proc


def test_game_stops_early_and_refinement_starts_from_the_trained_kernel(tmp_path):
  """Two restarts side by side; --early_stop_margin ends adversarial training at the first
  evaluation whose criterion is the margin above the first one's (here a margin small enough to
  be reached early; the slow test below reaches the shipped one by aligning); then
  `--init=aae --refine_iters=N` ends with a (d x d) orthogonal map and a judgement (it crashed
  once training was over, handed the kernel's first row). Evaluations during training search
  the 1,000 most frequent words (--eval_vocab), the final one all 2,000."""
  args = ("--steps=3000", "--eval_every=100", "--refine_iters=2", "--restart_rounds=1",
          "--restarts=2", "--early_stop_margin=0.005", "--eval_vocab=1000")
  res, proc = _adversarial(tmp_path, *args)
  # The test words are ranks 400-1899 on both sides: 600 of them among the first 1,000.
  assert ("evaluations during training search the 1000 most frequent words of each side, "
          "600 of 1500 test queries (--eval_vocab)") in proc.stderr, proc.stderr[-2000:]
  assert res["bli"]["queries"] == 1500
  assert res["restarts"] == 2 and res["selected_restart"] in (0, 1)
  assert res["rounds"] == 1 and isinstance(res["success"], bool)
  assert "restart 1 (seed 1), step " in proc.stderr
  stops = [line for line in proc.stderr.splitlines()
           if line.startswith("adversarial training stops at step")]
  assert len(stops) == 1, proc.stderr[-2000:]
  stopped = int(stops[0].split()[5].rstrip(":"))
  with open(tmp_path / "run" / "metrics.jsonl", encoding="utf-8") as f:
    steps = [row["step"] for row in map(json.loads, f) if "train/gen_loss" in row]
  assert 200 <= stopped < 3000 and max(steps) == stopped, (stopped, max(steps))
  assert res["trained_steps"] == stopped
  assert 0 < res["selected_step"] <= stopped
  # The same command again resumes at the stop, trains no further and ends with the same results.
  again, proc = _adversarial(tmp_path, *args)
  assert f"adversarial training had stopped at step {stopped}:" in proc.stderr, proc.stderr[-2000:]
  assert "adversarial training stops" not in proc.stderr
  res.pop("wall_seconds"), again.pop("wall_seconds")
  assert again == res


def test_a_game_that_played_its_whole_budget_offers_its_last_step_too(tmp_path):
  """A game that escapes late in its budget may not yet have passed the criterion of an earlier
  false rise (the d=300 English halves, seed 1, a 1024-wide discriminator: 0.435 at step 3,500
  translating nothing, 0.399 at its last step, 16,000, with 33.3 alone). Its last step is a
  candidate beside the best criterion's, both ranked after one refinement iteration, and there
  the right map wins."""
  from clweadv import experiment  # pylint: disable=g-import-not-at-top
  from conftest import make_config  # pylint: disable=g-import-not-at-top
  src, tgt, _ = rotated_case(tmp_path)
  workdir = str(tmp_path / "run")
  cfg = make_config(workdir, f"--flagfile={FLAGFILE}", "--steps=300", "--eval_every=100",
                    "--log_every=100", "--checkpoint_every=300", "--early_stop_margin=0",
                    "--restart_rounds=1", "--refine_iters=1", "--disc_vocab=2000",
                    "--criterion_vocab=2000", "--refine_vocab=2000", src_emb=src, tgt_emb=tgt)
  run = experiment.Run(cfg)
  evaluate, calls = run.evaluate, []
  def false_rise(mapped, **kwargs):  # The first evaluation's criterion, inflated.
    out = evaluate(mapped, **kwargs)
    out[0]["valid/mean_cosine"] += 1.0 if not calls else 0.0
    calls.append(out)
    return out
  run.evaluate = false_rise
  candidates, trained = run.train(
      lambda start: experiment.MetricsWriter(workdir, resume_step=start, total_steps=300),
      workdir=workdir, seed=0)
  assert trained == 300 and len(calls) == 3
  assert [(c.step, c.restart) for c in candidates] == [(100, 0), (300, 0)]
  assert candidates[0].criterion > 1.0 and candidates[1].criterion is None
  assert candidates[1].mapped.shape == (2000, 50)
  # 300 steps map nothing yet: the last step's kernel replaced by the rotation itself (the
  # preprocessing, unit length and centring, commutes with it) must beat the false rise.
  q = rotation(50, seed=7).astype(np.float32)
  right = dict(candidates[1].params, kernel=q, enc_bias=np.zeros(50, np.float32))
  chosen = experiment._select(
      run, [candidates[0], experiment.Candidate(run.src_x @ q, right, None, 300, 0)], seed=0)
  assert chosen.step == 300
  # With no refinement to rank them, the best criterion's step alone.
  cfg_none = make_config(str(tmp_path / "none"), f"--flagfile={FLAGFILE}", "--steps=200",
                         "--eval_every=100", "--log_every=100", "--checkpoint_every=200",
                         "--early_stop_margin=0", "--restart_rounds=1", "--refine_iters=0",
                         "--init=none", "--disc_vocab=2000", "--criterion_vocab=2000",
                         src_emb=src, tgt_emb=tgt)
  run = experiment.Run(cfg_none)
  calls.clear()
  run.evaluate = false_rise
  candidates, _ = run.train(
      lambda start: experiment.MetricsWriter(cfg_none.workdir, resume_step=start,
                                             total_steps=200),
      workdir=cfg_none.workdir, seed=0)
  assert [c.step for c in candidates] == [100]


@pytest.mark.slow
def test_adversarial_method_recovers_a_rotation(tmp_path):
  """The whole method (`experiments/adversarial.flags` as shipped) finds an exact rotation of
  the whole shipped GloVe slice (5,000 words) without any dictionary or spelling, and judges
  itself a success, its game stopped early by the criterion."""
  res, proc = _adversarial(tmp_path, vocab=5000, timeout=3600)  # Up to 2 rounds of 16,000 steps.
  assert "adversarial training stops at step" in proc.stderr
  assert res["bli"]["csls"]["p@1"] >= 99.0, res
  assert res["success"] is True and res["judged_criterion"] >= res["chance_criterion"] + 0.1


def test_the_game_plays_in_the_smaller_space_when_dimensions_differ(tmp_path):
  """--game_projection=pca on a real pair of different dimensions (GloVe-50 -> fastText-300):
  the game's target is the target projected onto its 50 principal axes, and the trained
  encoder comes back as the same map between the full spaces (without it, the 50-dimensional
  mapped source filled a subspace of the 300-dimensional target that the discriminator told
  apart at accuracy 1.0 for 8,000 steps: 0.0 on English halves at d=100 against d=300, where
  the projected game maps them)."""
  from clweadv import experiment  # pylint: disable=g-import-not-at-top
  from conftest import make_config  # pylint: disable=g-import-not-at-top
  cfg = make_config(tmp_path, "--nostandardize", model="aae", normalize="unit,center,unit",
                    game_projection="pca", disc_vocab=1500)
  run = experiment.Run(cfg)
  p = run.axes[1]
  assert run.axes[0] is None and p.shape == (300, 50)
  np.testing.assert_allclose(p.T @ p, np.eye(50), atol=1e-5)
  assert run.game_src_x is run.src_x and run.game_tgt_x.shape == (len(run.tgt_x), 50)
  np.testing.assert_allclose(np.linalg.norm(run.game_tgt_x, axis=1), 1.0, atol=1e-5)
  # The principal axes keep more of the game's words than a random 50-dimensional subspace.
  q = np.linalg.qr(np.random.default_rng(0).standard_normal((300, 50)))[0]
  kept = lambda axes: np.sum((run.tgt_x[:1500] @ axes) ** 2)
  assert kept(p) > 2 * kept(q)
  rng = np.random.default_rng(1)
  k = np.linalg.qr(rng.standard_normal((50, 50)))[0].astype(np.float32)
  b = rng.standard_normal(50).astype(np.float32)
  lifted = run._lift({"kernel": k, "enc_bias": b, "dec_bias": np.zeros(50, np.float32)})
  w = lifted["kernel"]
  assert w.shape == (50, 300)
  np.testing.assert_allclose(w @ w.T, np.eye(50), atol=1e-4)
  np.testing.assert_allclose((run.src_x @ w + lifted["enc_bias"]) @ p, run.src_x @ k + b,
                             atol=1e-4)
  # The other way round (fastText-300 -> GloVe-50) the source is projected: kernel P_src K.
  rev = experiment.Run(make_config(tmp_path, "--nostandardize", model="aae",
                                   normalize="unit,center,unit", game_projection="pca",
                                   disc_vocab=1500, src_emb=cfg.tgt_emb, tgt_emb=cfg.src_emb))
  p = rev.axes[0]
  assert rev.axes[1] is None and p.shape == (300, 50) and rev.game_tgt_x is rev.tgt_x
  lifted = rev._lift({"kernel": k, "enc_bias": b, "dec_bias": np.zeros(50, np.float32)})
  assert lifted["kernel"].shape == (300, 50)
  np.testing.assert_allclose(rev.src_x @ lifted["kernel"], (rev.src_x @ p) @ k, atol=1e-4)

  # End to end: a short run trains the 50 x 50 game, then refines and exports a 50 x 300 map.
  workdir = tmp_path / "run"
  proc = run_main(f"--flagfile={FLAGFILE}", f"--src_emb={cfg.src_emb}",
                  f"--tgt_emb={cfg.tgt_emb}", f"--workdir={workdir}", "--max_vocab=2000",
                  "--steps=200", "--eval_every=100", "--disc_vocab=1500", "--eval_vocab=1000",
                  "--criterion_vocab=1000", "--refine_vocab=1000", "--refine_iters=1",
                  "--restart_rounds=1", "--export_vocab=10")
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert ("the game plays in 50 dimensions: the target projected onto its 50 principal axes "
          "(--game_projection=pca)") in proc.stderr
  w = np.load(workdir / "mapping.npy")
  assert w.shape == (50, 300)
  np.testing.assert_allclose(w @ w.T, np.eye(50), atol=1e-4)


def test_game_projection_is_for_the_linear_autoencoder():
  proc = run_main("--src_emb=" + EN_GLOVE, "--tgt_emb=" + EN_GLOVE, "--model=gan",
                  "--game_projection=pca")
  assert proc.returncode == 2
  assert proc.stderr.strip().splitlines()[-1].endswith(
      "--game_projection=pca: projects the game of the linear --model=aae only (--model=gan)")


def test_the_game_leaves_out_words_seen_too_rarely_where_counts_are_known(tmp_path):
  """--disc_min_count on the shipped Debian word2vec slice and its corpus counts: the game
  samples only the most frequent words seen at least N times (never fewer than 2,000), and
  exactly --disc_vocab where a side has no counts."""
  from clweadv import experiment  # pylint: disable=g-import-not-at-top
  from conftest import make_config  # pylint: disable=g-import-not-at-top
  vec = os.path.join(ROOT, "third_party", "debian_w2v", "en.d100.top3000")
  counts = np.array([int(line.split()[1]) for line in open(vec + ".vocab", encoding="utf-8")])
  make = lambda **kw: make_config(tmp_path, "--nostandardize", model="aae", src_emb=vec + ".vec",
                                  tgt_emb=vec + ".vec", max_vocab=3000, disc_vocab=2800, **kw)
  cfg = make(src_vocab=vec + ".vocab", disc_min_count=600)
  run = experiment.Run(cfg)
  n = experiment.game_vocab(run.src, cfg)
  assert 2000 < n < 2800 and n == np.sum(counts >= 600)
  assert counts[n - 1] >= 600 > counts[n]
  cdf = experiment._sampling_cdf(run.src, cfg, "src")
  assert cdf[n - 1] == pytest.approx(1.0) and cdf[n - 2] < 1.0   # No mass after rank n.
  # The target side has no counts: --disc_vocab alone.
  assert experiment.game_vocab(run.tgt, cfg) == 2800
  # A threshold most words miss: the 2,000 most frequent stay.
  assert experiment.game_vocab(run.src, make(src_vocab=vec + ".vocab", disc_min_count=800)) == 2000
  assert np.sum(counts >= 800) < 2000
  # Off: --disc_vocab.
  assert experiment.game_vocab(run.src, make(src_vocab=vec + ".vocab")) == 2800
