"""`benchmarks/bench_ladder.py` builds only the cases asked for: `--cases=r1_glove50` on rungs whose
other cases need the English corpus halves must not start building them (word2vec on the
prepared corpus, minutes to an hour), and the case it builds shares no spelling."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "benchmarks", "bench_ladder.py")


def _game_at_truth(*args, timeout=600):
  return subprocess.run(
      [sys.executable, os.path.join(ROOT, "benchmarks", "game_at_truth.py"),
       f"--flagfile={os.path.join(ROOT, 'experiments', 'adversarial.flags')}", *args],
      capture_output=True, text=True, timeout=timeout, check=False)


def _run(tmp_path, *args):
  return subprocess.run(
      [sys.executable, SCRIPT, "--methods=", f"--work_dir={tmp_path / 'work'}",
       f"--data_dir={tmp_path / 'data'}", *args],
      capture_output=True, text=True, timeout=300, check=False)


def test_only_the_requested_case_is_built(tmp_path):
  (tmp_path / "data").mkdir()
  proc = _run(tmp_path, "--rungs=R1,R3,R3-size", "--cases=r1_glove50")
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert sorted(os.listdir(tmp_path / "work")) == ["r1_glove50"]
  assert not os.listdir(tmp_path / "data")   # No corpus, no halves, no word2vec.
  case = tmp_path / "work" / "r1_glove50"
  assert sorted(os.listdir(case)) == ["src.vec", "test.txt", "tgt.vec", "train.txt"]
  with open(case / "test.txt", encoding="utf-8") as f:
    pairs = [line.split() for line in f]
  assert len(pairs) > 100
  assert all(t == "~" + s for s, t in pairs)   # The identity, renamed: no shared spelling.


def test_an_unknown_case_is_one_line_and_exit_code_2_before_anything_is_built(tmp_path):
  proc = _run(tmp_path, "--rungs=R1,R2", "--cases=r1_glove50,r1_glove5")
  assert proc.returncode == 2, proc.stderr[-2000:]
  assert proc.stderr.strip().splitlines()[-1] == (
      "error: --cases: no case r1_glove5 on --rungs=R1,R2 (cases there: r1_glove50, "
      "r1_fasttext300, r2_glove50_noise0.1, r2_glove50_noise0.3)")
  assert "Traceback" not in proc.stderr
  assert not os.path.exists(tmp_path / "work" / "r1_glove50")   # Nothing built, not even r1.


def test_an_unknown_rung_or_method_is_one_line_and_exit_code_2(tmp_path):
  for flag, line in (("--rungs=R1,R5", "error: flag --rungs=['R1', 'R5']: must be among R1, R2, "
                      "R3, R3-size, R3-domain, R4"),
                     ("--methods=procrustes,adverserial", "error: flag --methods=['procrustes', "
                      "'adverserial']: must be among procrustes, similarity, adversarial, "
                      "faithful, truth")):
    proc = _run(tmp_path, flag)   # After _run's --methods=, so a --methods given here wins.
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == line
    assert not os.path.exists(tmp_path / "work")


def test_a_corpus_pair_passes_its_counts_and_the_reversed_pair_swaps_them(tmp_path):
  """The real corpus pairs come with word2vec counts, which `--disc_min_count` needs: each run
  gets them, the source's as `--src_vocab` also when the pair is read in reverse (fr-en)."""
  slices = os.path.join(ROOT, "third_party", "debian_w2v")
  pair = tmp_path / "data" / "pairs" / "en-fr.corpus.d300"
  pair.mkdir(parents=True)
  words = {lang: [line.split(" ", 1)[0] for line in open(
      os.path.join(slices, f"{lang}.d300.top3000.vec"), encoding="utf-8")][1:]
           for lang in ("en", "fr")}
  en, fr = set(words["en"]), set(words["fr"])
  with open(os.path.join(ROOT, "third_party", "freedict", "en-fr.txt"), encoding="utf-8") as f:
    gold = [p for p in (line.split() for line in f) if len(p) == 2 and p[0] in en and p[1] in fr]
  assert len(gold) > 200
  (pair / "test.txt").write_text("".join(f"{s} {t}\n" for s, t in gold[:100]))
  (pair / "train.txt").write_text("".join(f"{s} {t}\n" for s, t in gold[100:]))
  manifest = {"manifest": str(pair / "manifest.json"),
              "test_dictionary": str(pair / "test.txt"),
              "train_dictionary": str(pair / "train.txt")}
  for side, lang in (("src", "en"), ("tgt", "fr")):
    manifest[f"{side}_emb"] = os.path.join(slices, f"{lang}.d300.top3000.vec")
    manifest[f"{side}_vocab"] = os.path.join(slices, f"{lang}.d300.top3000.vocab")
  (pair / "manifest.json").write_text(json.dumps(manifest))
  proc = _run(tmp_path, "--rungs=R4", "--cases=r4_corpus_fr_en", "--methods=procrustes")
  assert proc.returncode == 0, proc.stderr[-2000:]
  with open(tmp_path / "work" / "runs" / "r4_corpus_fr_en.procrustes.s0" / "config.json",
            encoding="utf-8") as f:
    config = json.load(f)
  assert config["src_emb"].endswith("fr.d300.top3000.vec")
  assert config["src_vocab"].endswith("fr.d300.top3000.vocab")
  assert config["tgt_vocab"].endswith("en.d300.top3000.vocab")


def test_the_game_at_supervised_procrustes_cannot_tell_a_rotation_from_its_source(tmp_path):
  """game_at_truth.py on an exact rotation of the GloVe slice: frozen at the truth, the
  discriminator is at chance, where at the random start it tells the sides apart; the game
  played from the truth stays there."""
  from test_adversarial import rotated_case  # pylint: disable=g-import-not-at-top
  src, tgt, test = rotated_case(tmp_path, vocab=2000)
  words = [line.split()[0] for line in open(test, encoding="utf-8")]
  train = tmp_path / "train.txt"
  train.write_text("".join(f"{w} ~{w}\n" for w in words[:500]))
  workdir = tmp_path / "truth"
  proc = _game_at_truth(
      f"--src_emb={src}", f"--tgt_emb={tgt}", f"--test_dictionary={test}",
      f"--train_dictionary={train}", f"--workdir={workdir}", "--truth_steps=400",
      "--eval_every=200", "--disc_vocab=2000", "--criterion_vocab=2000")
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert os.listdir(workdir) == ["game_at_truth.json"]   # A run's own results.json stays.
  with open(workdir / "game_at_truth.json", encoding="utf-8") as f:
    res = json.load(f)
  assert res["random"]["monitor_acc"] > 0.9
  assert res["truth"]["monitor_acc"] < 0.6
  assert res["truth"]["p1"]["0"] == 100.0
  assert res["played"]["p1"]["400"] >= 99.0


def test_the_game_at_truth_without_a_train_dictionary_is_one_line_and_exit_code_2(tmp_path):
  glove = os.path.join(ROOT, "third_party", "glove6b", "en.top5000.vec")
  for args, line in (([], "error: --train_dictionary: needed (the supervised mapping the game "
                          "starts from)"),
                     ([f"--train_dictionary={tmp_path / 'none.txt'}"],
                      f"error: --train_dictionary={tmp_path / 'none.txt'}: no such file")):
    proc = _game_at_truth(f"--src_emb={glove}", f"--tgt_emb={glove}",
                          f"--workdir={tmp_path / 'w'}", *args, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == line
    assert "Traceback" not in proc.stderr and not os.path.exists(tmp_path / "w")
