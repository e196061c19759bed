"""`python -m clweadv.main` on bad input: one line naming the file/line or flag, exit code 2."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import EN_FR_DICT, EN_GLOVE, FR_FASTTEXT, ROOT

SMALL = ["--max_vocab=500", "--steps=20", "--log_every=10", "--eval_every=10",
         "--checkpoint_every=10", "--criterion_vocab=200", "--export_vocab=20"]


def run_main(*args, cwd=ROOT, timeout=300):
  env = dict(os.environ, PYTHONPATH=ROOT)
  return subprocess.run([sys.executable, "-m", "clweadv.main", *args], capture_output=True,
                        text=True, cwd=cwd, env=env, timeout=timeout)


def _lines(path, n):
  with open(path, encoding="utf-8") as f:
    return [next(f) for _ in range(n)]


def _one_line_error(proc, *needles):
  assert proc.returncode == 2, proc.stderr[-2000:]
  lines = [l for l in proc.stderr.splitlines() if l.strip()]
  errors = [l for l in lines if l.startswith("error: ")]
  assert len(errors) == 1, proc.stderr[-2000:]
  assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
  for needle in needles:
    assert needle in errors[0], errors[0]
  return errors[0]


def _write(path, lines):
  with open(path, "wb") as f:
    f.write(b"".join(l if isinstance(l, bytes) else l.encode("utf-8") for l in lines))
  return str(path)


def _bad_vec_cases(tmp_path):
  rows = _lines(EN_GLOVE, 30)  # The real file's header and first rows.
  ragged = rows[:5] + [rows[5].rsplit(" ", 1)[0] + "\n"] + rows[6:]
  word, *values = rows[7].split(" ")
  nan = rows[:7] + [" ".join([word, "nan"] + values[1:])] + rows[8:]
  dup = rows[:10] + [rows[3]] + rows[11:]
  header = ["12 x 50\n"] + rows[1:]
  header_dim = ["29 300\n"] + rows[1:]  # A header stating another dimension than the rows'.
  non_utf8 = rows[:4] + [b"\xff\xfe" + rows[4].encode("utf-8")] + rows[5:]
  return {
      "ragged": (_write(tmp_path / "ragged.vec", ragged), ":6:"),
      "nan": (_write(tmp_path / "nan.vec", nan), ":8:"),
      "duplicate": (_write(tmp_path / "dup.vec", dup), "duplicate"),
      "header": (_write(tmp_path / "header.vec", header), ":1:"),
      "header_dim": (_write(tmp_path / "header_dim.vec", header_dim),
                     ":1: the header declares dimension 300, but the first vector (line 2) "
                     "has 50 values"),
      "utf8": (_write(tmp_path / "utf8.vec", non_utf8), ":5:"),
  }


@pytest.mark.parametrize("case", ["ragged", "nan", "duplicate", "header", "header_dim", "utf8"])
def test_malformed_embedding_file(tmp_path, case):
  path, where = _bad_vec_cases(tmp_path)[case]
  proc = run_main(f"--src_emb={path}", f"--tgt_emb={FR_FASTTEXT}",
                  f"--workdir={tmp_path / 'run'}", *SMALL)
  _one_line_error(proc, path, where)
  # The run created the work dir; it found the bad row before writing anything, so it leaves none.
  assert not os.path.exists(tmp_path / "run")


@pytest.mark.parametrize("args,needle", [
    (["--src_emb=/nonexistent/en.vec"], "/nonexistent/en.vec"),
    (["--model=transformer"], "--model"),
    (["--sampling=zipf"], "--sampling"),
    (["--normalize=unit,whiten"], "--normalize"),
    (["--eval_every=15"], "--eval_every"),
    (["--batch_size=0"], "--batch_size"),
    (["--model=procrustes"], "--train_dictionary"),
    ([f"--train_dictionary={EN_FR_DICT}"], "--train_dictionary"),
    (["--flagfile=/nonexistent/x.flags"], "x.flags"),
    (["--no_such_flag=1"], "no_such_flag"),
    (["--label_smoothing=0.7"], "--label_smoothing"),
    (["--restarts=0"], "--restarts"),
    (["--disc_steps=0"], "--disc_steps"),
    (["--ortho_beta=0.01", "--model=deep_aae"], "--ortho_beta"),
])
def test_bad_flags(tmp_path, args, needle):
  base = [f"--src_emb={EN_GLOVE}", f"--tgt_emb={FR_FASTTEXT}", f"--workdir={tmp_path / 'run'}"]
  proc = run_main(*base, *SMALL, *args)
  _one_line_error(proc, needle)


def test_resume_with_other_dimensions_is_refused_and_loses_nothing(tmp_path):
  workdir = tmp_path / "run"
  common = [f"--tgt_emb={FR_FASTTEXT}", f"--workdir={workdir}", "--export=false", *SMALL]
  first = run_main(f"--src_emb={EN_GLOVE}", *common)
  assert first.returncode == 0, first.stderr[-2000:]
  before = {name: open(workdir / name, "rb").read() for name in ("metrics.jsonl",
                                                                 "results.json", "config.json")}
  # The same run continued with another source space (300-d instead of 50-d).
  proc = run_main(f"--src_emb={FR_FASTTEXT}", *common[:-len(SMALL)], *SMALL[:1],
                  "--steps=40", *SMALL[2:])
  _one_line_error(proc, "--src_emb")
  after = {name: open(workdir / name, "rb").read() for name in before}
  assert before == after


def test_resume_of_a_run_older_than_its_flags_is_refused(tmp_path):
  """A config.json written before --game_projection existed implies `none`: resuming such a run
  (50-d against 300-d) with the game projected would restore a 50 x 300 encoder into a 50 x 50
  game."""
  workdir = tmp_path / "run"
  args = [f"--src_emb={EN_GLOVE}", f"--tgt_emb={FR_FASTTEXT}", f"--workdir={workdir}",
          "--export=false", *SMALL]
  first = run_main(*args)
  assert first.returncode == 0, first.stderr[-2000:]
  config = json.loads((workdir / "config.json").read_text(encoding="utf-8"))
  assert config.pop("game_projection") == "none"
  (workdir / "config.json").write_text(json.dumps(config), encoding="utf-8")
  before = _snapshot(workdir)
  proc = run_main(*args[:-len(SMALL)], *[a if a != "--steps=20" else "--steps=40" for a in SMALL],
                  "--game_projection=pca")
  _one_line_error(proc, "--game_projection=pca", "game_projection=none")
  assert _snapshot(workdir) == before


def _snapshot(directory):
  return {os.path.relpath(os.path.join(d, n), directory): open(os.path.join(d, n), "rb").read()
          for d, _, names in os.walk(directory) for n in names if n != ".lock"}


def test_damaged_checkpoint_and_config_are_refused_and_loses_nothing(tmp_path):
  workdir = tmp_path / "run"
  args = [f"--src_emb={EN_GLOVE}", f"--tgt_emb={FR_FASTTEXT}", f"--workdir={workdir}",
          "--export=false", *SMALL]
  first = run_main(*args)
  assert first.returncode == 0, first.stderr[-2000:]
  # The latest checkpoint's array data truncated, as by a full disk or a bad copy.
  data = [os.path.join(d, n) for d, _, names in os.walk(workdir / "checkpoints" / "20")
          for n in names if os.sep + "d" + os.sep in os.path.join(d, n) + os.sep]
  assert data
  for path in data:
    with open(path, "r+b") as f:
      f.truncate(16)
  before = _snapshot(workdir)
  proc = run_main(*args[:-len(SMALL)], *[a if a != "--steps=20" else "--steps=40" for a in SMALL])
  _one_line_error(proc, os.path.join("checkpoints", "20"), "damaged")
  assert _snapshot(workdir) == before
  # A damaged config.json: refused before anything is written.
  (workdir / "config.json").write_text('{"model": ', encoding="utf-8")
  before = _snapshot(workdir)
  _one_line_error(run_main(*args), "config.json")
  assert _snapshot(workdir) == before


def test_missing_flagfile_is_named_once(tmp_path):
  line = _one_line_error(run_main("--flagfile=/nonexistent/x.flags"))
  assert line == ("error: Unable to open flagfile: [Errno 2] No such file or directory: "
                  "'/nonexistent/x.flags'")


@pytest.mark.parametrize("workdir,why", [
    ("file", "(it is a file, not a directory)"),
    ("file/sub", "(not a directory: "),
    ("/sys/clweadv-run", "(operation not permitted: /sys/clweadv-run)"),  # Even for root.
])
def test_unusable_workdir(tmp_path, workdir, why):
  (tmp_path / "file").write_text("keep me\n")
  workdir = workdir if workdir.startswith("/") else str(tmp_path / workdir)
  proc = run_main(f"--src_emb={EN_GLOVE}", f"--tgt_emb={FR_FASTTEXT}", f"--workdir={workdir}",
                  *SMALL)
  _one_line_error(proc, f"--workdir={workdir}: cannot use it as the work dir {why}")
  assert (tmp_path / "file").read_text() == "keep me\n"


def test_help_exits_zero():
  proc = run_main("--helpshort")
  assert proc.returncode == 0 and "--flagfile" not in proc.stderr
  assert "--steps" in proc.stdout + proc.stderr


@pytest.mark.parametrize("lines,needle", [
    ("--steps=10\n--bogus_flag=3\n", "bogus_flag"),
    ("--steps=ten\n", "--steps"),
    ("--flagfile=/nonexistent/inner.flags\n", "inner.flags"),
])
def test_malformed_flagfile(tmp_path, lines, needle):
  flagfile = _write(tmp_path / "bad.flags", [lines])
  proc = run_main(f"--flagfile={flagfile}", f"--src_emb={EN_GLOVE}", f"--tgt_emb={FR_FASTTEXT}",
                  f"--workdir={tmp_path / 'run'}")
  _one_line_error(proc, needle)
  assert not os.path.exists(tmp_path / "run")


def _vocab_cases(tmp_path):
  words = [l.split(" ", 1)[0] for l in _lines(EN_GLOVE, 600)[1:]]
  good = [f"{w} {1000 - i}\n" for i, w in enumerate(words)]
  return {
      "count": (_write(tmp_path / "count.vocab", good[:3] + ["of many\n"] + good[4:]), ":4:"),
      "fields": (_write(tmp_path / "fields.vocab", good[:2] + ["a b c\n"] + good[3:]), ":3:"),
      "negative": (_write(tmp_path / "neg.vocab", good[:5] + [f"{words[5]} -3\n"] + good[6:]),
                   ":6:"),
      "missing": (_write(tmp_path / "missing.vocab", good[:100]), "no count"),
  }


@pytest.mark.parametrize("case", ["count", "fields", "negative", "missing"])
def test_malformed_vocabulary_file(tmp_path, case):
  path, where = _vocab_cases(tmp_path)[case]
  proc = run_main(f"--src_emb={EN_GLOVE}", f"--src_vocab={path}", f"--tgt_emb={FR_FASTTEXT}",
                  f"--workdir={tmp_path / 'run'}", *SMALL)
  _one_line_error(proc, path, where)


@pytest.mark.parametrize("content,where", [
    ("the le\nof\n", ":2:"),        # One column.
    ("the le la\n", ":1:"),         # Three columns.
    ("", "empty"),                  # Nothing at all.
])
def test_malformed_test_dictionary(tmp_path, content, where):
  path = _write(tmp_path / "dict.txt", [content])
  proc = run_main(f"--src_emb={EN_GLOVE}", f"--tgt_emb={FR_FASTTEXT}",
                  f"--test_dictionary={path}", f"--workdir={tmp_path / 'run'}", *SMALL)
  _one_line_error(proc, path, where)


def test_empty_and_truncated_binary_embeddings(tmp_path):
  empty = _write(tmp_path / "empty.vec", [""])
  proc = run_main(f"--src_emb={empty}", f"--tgt_emb={FR_FASTTEXT}",
                  f"--workdir={tmp_path / 'run'}", *SMALL)
  _one_line_error(proc, empty, "no vectors")
  rows = [l.split() for l in _lines(EN_GLOVE, 11)[1:]]
  blob = b"10 50\n" + b"".join(w.encode() + b" " + np.array(v, "<f4").tobytes()
                                for w, *v in rows[:9]) + b"last " + b"\0" * 17
  truncated = _write(tmp_path / "trunc.bin", [blob])
  proc = run_main(f"--src_emb={truncated}", f"--tgt_emb={FR_FASTTEXT}",
                  f"--workdir={tmp_path / 'run'}", *SMALL)
  _one_line_error(proc, truncated, "truncated")


def test_compiled_programs_are_kept_for_the_next_run(tmp_path):
  # --xla_cache names JAX's persistent compilation cache: the first run fills it, a second run
  # reads its programs back and ends with the same mapping, and 'none' keeps nothing.
  cache = tmp_path / "xla"
  common = [f"--src_emb={EN_GLOVE}", f"--tgt_emb={FR_FASTTEXT}", *SMALL]
  maps = []
  for k in range(2):
    proc = run_main(*common, f"--workdir={tmp_path / f'run{k}'}", f"--xla_cache={cache}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    maps.append(np.load(tmp_path / f"run{k}" / "mapping.npy"))
    if k == 0:
      kept = sorted(os.listdir(cache))
      assert len(kept) >= 3, kept  # The train step, the evaluation and the retrieval kernels.
  assert sorted(os.listdir(cache)) == kept  # Nothing compiled anew.
  np.testing.assert_array_equal(maps[0], maps[1])
  off = run_main(*common, f"--workdir={tmp_path / 'off'}", f"--xla_cache={tmp_path / 'x'}",
                 "--xla_cache=none")
  assert off.returncode == 0 and not os.path.exists(tmp_path / "x"), off.stderr[-2000:]
