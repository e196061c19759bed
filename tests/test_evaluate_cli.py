"""`python -m clweadv.evaluate` as a user runs it: real slices, a JSON file, one-line errors."""

import glob
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from clweadv.embeddings import read_embeddings, write_vec

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
GLOVE = os.path.join(ROOT, "third_party", "glove6b", "en.top5000.vec")
FASTTEXT_FR = sorted(glob.glob(os.path.join(ROOT, "third_party", "fasttext_fr", "fr.top*.vec")))[0]
EN_FR = os.path.join(ROOT, "third_party", "freedict", "en-fr.txt")


@pytest.fixture(scope="module")
def spaces(tmp_path_factory):
  """Small real slices (first 1,500 words) and a supervised Procrustes map fitted on FreeDict."""
  tmp = tmp_path_factory.mktemp("spaces")
  en, fr = read_embeddings(GLOVE, max_vocab=1500), read_embeddings(FASTTEXT_FR, max_vocab=1500)
  src, tgt = str(tmp / "en.vec"), str(tmp / "fr.vec")
  write_vec(src, en.words, en.vectors)
  write_vec(tgt, fr.words, fr.vectors)
  pairs = [line.split() for line in open(EN_FR, encoding="utf-8")]
  pairs = [(en.index[a], fr.index[b]) for a, b in pairs if a in en.index and b in fr.index]
  s, t = np.array(pairs).T
  u, _, vt = np.linalg.svd(en.vectors[s].T @ fr.vectors[t], full_matrices=False)
  mapping = str(tmp / "W.npy")
  np.save(mapping, (u @ vt).astype(np.float32))
  return {"src": src, "tgt": tgt, "mapping": mapping, "tmp": tmp}


def _run(*args):
  env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
  return subprocess.run([sys.executable, "-m", "clweadv.evaluate", *args], capture_output=True,
                        text=True, env=env, cwd=ROOT, timeout=300)


def test_writes_bli_block_both_directions(spaces):
  out = spaces["tmp"] / "out.json"
  proc = _run(f"--src_emb={spaces['src']}", f"--tgt_emb={spaces['tgt']}", f"--dictionary={EN_FR}",
              f"--mapping={spaces['mapping']}", f"--output={out}", "--reverse")
  assert proc.returncode == 0, proc.stderr
  result = json.loads(out.read_text())
  bli = result["bli"]
  assert set(bli) == {"dictionary", "queries", "coverage", "nn", "csls"}
  assert bli["dictionary"] == "en-fr.txt" and bli["queries"] > 300
  assert set(bli["csls"]) == {"p@1", "p@5", "p@10"}
  assert bli["csls"]["p@1"] > 30.0 and bli["nn"]["p@10"] >= bli["nn"]["p@1"] > 20.0
  assert result["bli_reverse"]["queries"] > 300
  assert "csls" in proc.stdout and "p@10" in proc.stdout
  assert not [p for p in os.listdir(spaces["tmp"]) if p.endswith(".tmp")]


def test_nn_only_reports_null_csls(spaces):
  out = spaces["tmp"] / "nn.json"
  proc = _run(f"--src_emb={spaces['src']}", f"--tgt_emb={spaces['tgt']}", f"--dictionary={EN_FR}",
              f"--mapping={spaces['mapping']}", f"--output={out}", "--retrieval=nn")
  assert proc.returncode == 0, proc.stderr
  assert json.loads(out.read_text())["bli"]["csls"] is None


def _assert_one_line_error(proc, *fragments):
  assert proc.returncode == 2, proc.stderr
  lines = proc.stderr.strip().splitlines()
  assert len(lines) == 1, proc.stderr
  assert lines[0].startswith("error: ")
  for fragment in fragments:
    assert fragment in lines[0]


@pytest.mark.parametrize("text,fragment", [
    ("water eau\nrain\n", "bad.txt:2: expected 'source target' (2 columns), found 1"),
    ("water eau\nrain pluie forte\n", "bad.txt:2:"),
    ("", "bad.txt: empty dictionary"),
])
def test_bad_dictionary(spaces, text, fragment):
  path = spaces["tmp"] / "bad.txt"
  path.write_text(text, encoding="utf-8")
  proc = _run(f"--src_emb={spaces['src']}", f"--tgt_emb={spaces['tgt']}", f"--dictionary={path}",
              f"--mapping={spaces['mapping']}")
  _assert_one_line_error(proc, fragment)


def test_mapping_shape_mismatch(spaces):
  wrong = str(spaces["tmp"] / "W_T.npy")
  np.save(wrong, np.load(spaces["mapping"]).T)
  proc = _run(f"--src_emb={spaces['src']}", f"--tgt_emb={spaces['tgt']}", f"--dictionary={EN_FR}",
              f"--mapping={wrong}")
  _assert_one_line_error(proc, "--mapping=", "(300, 50)", "expected (50, 300)")


def test_dimension_mismatch_without_mapping_and_bad_flags(spaces):
  proc = _run(f"--src_emb={spaces['src']}", f"--tgt_emb={spaces['tgt']}", f"--dictionary={EN_FR}")
  _assert_one_line_error(proc, "--mapping")
  proc = _run(f"--src_emb={spaces['src']}", f"--tgt_emb={spaces['tgt']}", f"--dictionary={EN_FR}",
              "--retrieval=nn,knn")
  _assert_one_line_error(proc, "--retrieval")
  proc = _run(f"--tgt_emb={spaces['tgt']}", f"--dictionary={EN_FR}")
  _assert_one_line_error(proc, "--src_emb is required")
