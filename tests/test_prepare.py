"""`clweadv.prepare` offline: the shipped slices and pair lists stand in for the downloads."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from clweadv.data import freedict, prepare
from clweadv.errors import InputError

ROOT = os.path.join(os.path.dirname(__file__), "..", "third_party")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _seed_pretrained(data_dir):
  """Puts the shipped slices where `prepare --source=pretrained` caches its conversions."""
  emb = os.path.join(data_dir, "embeddings")
  os.makedirs(emb)
  shutil.copy(os.path.join(ROOT, "glove6b", "en.top5000.vec"),
              os.path.join(emb, "en.glove6b-50d.top50000.vec"))
  shutil.copy(os.path.join(ROOT, "fasttext_fr", "fr.top4000.vec"),
              os.path.join(emb, "fr.fasttext-spacy-300d.top50000.vec"))


def test_pretrained_pair_offline(tmp_path, capsys):
  data_dir = str(tmp_path / "data")
  _seed_pretrained(data_dir)
  m = prepare.ensure_pair(pair="en-fr", source="pretrained", data_dir=data_dir,
                          freedict_dir=os.path.join(ROOT, "freedict"), install=False)
  for key in ("src_emb", "tgt_emb", "train_dictionary", "test_dictionary", "manifest"):
    assert os.path.isabs(m[key]) and os.path.isfile(m[key]), key
  assert m["src_vocab"] is None and m["tgt_vocab"] is None
  assert (m["src_lang"], m["tgt_lang"]) == ("en", "fr")
  with open(m["manifest"], encoding="utf-8") as f:
    assert json.load(f) == m
  train = freedict.read_pairs(m["train_dictionary"])
  test = freedict.read_pairs(m["test_dictionary"])
  assert not {s for s, _ in train} & {s for s, _ in test}
  assert m["split"]["split_mode"] == "random"
  assert m["split"]["test_source_words"] == len({s for s, _ in test})
  assert m["split"]["train_pairs"] == len(train)
  assert ("monday", "lundi") in set(train) | set(test)
  capsys.readouterr()
  again = prepare.ensure_pair(pair="en-fr", source="pretrained", data_dir=data_dir,
                              install=False)
  assert again == m
  assert "reusing" in capsys.readouterr().err


def test_reverse_pair_uses_the_same_lists(tmp_path):
  data_dir = str(tmp_path / "data")
  _seed_pretrained(data_dir)
  m = prepare.ensure_pair(pair="fr-en", source="pretrained", data_dir=data_dir,
                          freedict_dir=os.path.join(ROOT, "freedict"), install=False)
  test = freedict.read_pairs(m["test_dictionary"])
  assert ("lundi", "monday") in set(test) | set(freedict.read_pairs(m["train_dictionary"]))


def test_unknown_pair_lists_the_pairs():
  with pytest.raises(InputError, match="pairs that exist: .*en-it"):
    prepare.ensure_pair(pair="en-xx", data_dir="/nonexistent")


def test_cli_bad_pair_exit_code(tmp_path):
  result = subprocess.run([sys.executable, "-m", "clweadv.prepare", "--pair=en-zz",
                           f"--data_dir={tmp_path}"], cwd=REPO, capture_output=True, text=True)
  assert result.returncode == 2
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith("error: --pair=en-zz")


def test_cli_prints_manifest_last(tmp_path):
  data_dir = str(tmp_path / "data")
  _seed_pretrained(data_dir)
  result = subprocess.run([sys.executable, "-m", "clweadv.prepare", "--pair=en-fr",
                           "--source=pretrained", f"--data_dir={data_dir}", "--noinstall",
                           f"--freedict_dir={os.path.join(ROOT, 'freedict')}"],
                          cwd=REPO, capture_output=True, text=True)
  assert result.returncode == 0, result.stderr
  last = result.stdout.strip().splitlines()[-1]
  assert last.endswith("manifest.json") and os.path.isfile(last)


def test_missing_freedict_dir(tmp_path):
  data_dir = str(tmp_path / "data")
  _seed_pretrained(data_dir)
  with pytest.raises(InputError, match="--freedict_dir="):
    prepare.ensure_pair(pair="en-fr", source="pretrained", data_dir=data_dir,
                        freedict_dir=str(tmp_path / "nope"), install=False)


@pytest.mark.slow
def test_corpus_pair_en_it(tmp_path):
  m = prepare.ensure_pair(pair="en-it", data_dir=str(tmp_path))
  assert m["dim"] == 100 and m["src_vocab"] and os.path.isfile(m["src_vocab"])
  assert m["split"]["test_source_words"] > 500


def test_unfetchable_package_names_it(tmp_path):
  from clweadv.data import corpora
  with pytest.raises(InputError, match="no-such-package-clweadv"):
    corpora.fetch_package("no-such-package-clweadv", str(tmp_path))
  assert not os.listdir(os.path.join(tmp_path, "pkgs"))   # nothing left that looks complete


def test_no_apt_falls_back_to_shipped_lists(tmp_path, monkeypatch):
  from clweadv.data import corpora

  def no_apt(package, cache_dir):
    raise InputError(f"could not fetch Debian package {package} (no apt lists)")
  monkeypatch.setattr(corpora, "fetch_package", no_apt)
  pairs, info = prepare.gold_dictionary("it", "en", str(tmp_path))
  assert info["source"] == "shipped pair list" and len(pairs) == 6039
  assert ("gatto", "cat") in pairs
  with pytest.raises(InputError, match=r"dict-freedict-eng-rus.*--freedict_dir"):
    prepare.gold_dictionary("en", "ru", str(tmp_path))


@pytest.mark.slow
def test_the_wheel_carries_the_shipped_pair_lists(tmp_path):
  """prepare's fallback dictionaries (third_party/freedict) survive a plain `pip install .`."""
  import zipfile  # pylint: disable=g-import-not-at-top
  repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                         str(tmp_path), repo], capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-2000:]
  (wheel,) = tmp_path.glob("clweadv-*.whl")
  names = set(zipfile.ZipFile(wheel).namelist())
  for pair in ("en-de", "en-es", "en-fr", "en-it"):
    assert f"clweadv/third_party/freedict/{pair}.txt" in names
