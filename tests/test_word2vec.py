"""word2vec on real text (Debian package descriptions): progress lines, and one thread's
vectors reproducible across processes."""

import os
import subprocess
import sys

from conftest import ROOT

EXCERPT = os.path.join(ROOT, "third_party", "debian_descriptions", "Translation-en.excerpt")

_TRAIN = """
import sys
from clweadv.data.word2vec import train_word2vec
text = open(sys.argv[1], encoding="utf-8").read()
with open(sys.argv[2] + ".txt", "w", encoding="utf-8") as f:
  for _ in range(30):  # ~700k tokens: a few seconds.
    f.write(text)
train_word2vec(sys.argv[2] + ".txt", dim=20, vec_path=sys.argv[2] + ".vec",
               vocab_path=sys.argv[2] + ".vocab", epochs=2, workers=1, min_count=2,
               label="prepare en")
"""


def test_one_thread_is_reproducible_across_processes_and_shows_epochs(tmp_path):
  outputs = []
  for name in ("a", "b"):
    proc = subprocess.run([sys.executable, "-c", _TRAIN, EXCERPT, str(tmp_path / name)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300,
                          env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode == 0, proc.stderr[-2000:]
    outputs.append((tmp_path / f"{name}.vec").read_bytes())
    # Not a terminal: plain progress lines naming the stage, with the epoch and elapsed time.
    lines = [l for l in proc.stderr.splitlines() if l.startswith("prepare en: word2vec")]
    assert lines and "\r" not in proc.stderr, proc.stderr
    assert any("epoch 1 of 2" in l and " elapsed" in l for l in lines), lines
  assert len(outputs[0].splitlines()) > 1000
  assert outputs[0] == outputs[1]
