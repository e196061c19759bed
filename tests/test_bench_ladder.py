"""`benchmarks/bench_ladder.py` builds only the cases asked for: `--cases=r1_glove50` on rungs whose
other cases need the English corpus halves must not start building them (word2vec on the
prepared corpus, minutes to an hour), and the case it builds shares no spelling."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "benchmarks", "bench_ladder.py")


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
                      "faithful")):
    proc = _run(tmp_path, flag)   # After _run's --methods=, so a --methods given here wins.
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == line
    assert not os.path.exists(tmp_path / "work")
