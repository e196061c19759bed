"""`clweadv.doc_classification` on a real slice: Debian descriptions in English and French,
labelled by section, embedded with supervised-Procrustes vectors of the Debian word2vec slices."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from clweadv import doc_classification as dc
from clweadv import experiment, translate

from conftest import EN_FR_DICT, ROOT, make_config

SLICE = os.path.join(ROOT, "third_party", "debian_descriptions", "classification")
W2V = os.path.join(ROOT, "third_party", "debian_w2v")
SMALL = dict(train_sizes=[100, 200], test_size=150, min_class_docs=20, epochs=10, seed=0)


def _read(name):
  with open(os.path.join(SLICE, name), encoding="utf-8") as f:
    return f.readlines()


@pytest.fixture(scope="module")
def procrustes_run(tmp_path_factory):
  """A finished supervised-Procrustes en-fr run (d=300, 3,000 words a side) with exports."""
  workdir = tmp_path_factory.mktemp("run")
  cfg = make_config(workdir, f"--train_dictionary={EN_FR_DICT}", model="procrustes",
                    src_emb=os.path.join(W2V, "en.d300.top3000.vec"),
                    tgt_emb=os.path.join(W2V, "fr.d300.top3000.vec"), max_vocab=3000,
                    normalize="unit,center,unit", standardize="false", export_vocab=0)
  experiment.run_experiment(cfg)
  return str(workdir)


@pytest.fixture(scope="module")
def pools():
  sections = dc.read_sections(_read("Packages.excerpt"))
  return {lang: dc.read_documents(_read(f"Translation-{lang}.excerpt"), lang=lang,
                                  sections=sections) for lang in ("en", "fr")}


def _assert_disjoint(split):
  test = {d.package for d in split.test}
  for docs in (split.train, split.mono):
    assert not test & {d.package for d in docs}
    assert not {d.source for d in split.test} & {d.source for d in docs}
    assert not {d.md5 for d in split.test} & {d.md5 for d in docs}


def test_sections_and_documents(pools):
  sections = dc.read_sections(["Package: a\n", "Source: b (1.0)\n", "Section: contrib/games\n",
                               "\n", "Package: c\n", "Section: non-free/sound\n"])
  assert sections == {"a": ("games", "b"), "c": ("sound", "c")}
  # English documents have even description hashes, French ones odd: no description is in both.
  assert len(pools["en"]) > 200 and len(pools["fr"]) > 400
  assert not {d.md5 for d in pools["en"]} & {d.md5 for d in pools["fr"]}
  assert all(d.tokens == tuple(t.lower() for t in d.tokens) for d in pools["fr"])


@pytest.mark.parametrize("train_lang,test_lang", [("en", "fr"), ("fr", "en")])
def test_cross_lingual_beats_the_majority_baseline(procrustes_run, pools, train_lang,
                                                    test_lang):
  _, src, tgt = translate.load_workdir(procrustes_run)
  emb = {"en": src, "fr": tgt}
  report, split = dc.classify(train_lang=train_lang, test_lang=test_lang,
                              train_emb=emb[train_lang], test_emb=emb[test_lang],
                              train_pool=pools[train_lang], test_pool=pools[test_lang], **SMALL)
  _assert_disjoint(split)
  assert len(report["classes"]) >= 4
  assert 100 <= report["test"]["documents"] <= 150 and report["test"]["coverage"] > 0.5
  for row in report["rows"]:
    assert row["cross_lingual_accuracy"] > row["majority_baseline"] + 10, row
    assert row["monolingual_accuracy"] > row["majority_baseline"], row


def test_no_package_on_both_sides_even_from_one_pool(pools):
  """The same documents offered as training and test pool: the split still keeps them apart."""
  docs = pools["fr"]
  classes = dc.choose_classes(train_pool=docs, test_pool=docs, min_docs=20)
  split = dc.split_documents(train_pool=docs, test_pool=docs, classes=classes, train_size=300,
                             test_size=150, reserve=100, seed=1)
  _assert_disjoint(split)
  dc.check_disjoint(split)
  assert split.dropped["train"] >= 150 and split.train
  split.train.append(split.test[0])
  with pytest.raises(AssertionError, match="shares its package"):
    dc.check_disjoint(split)


def test_perceptron_is_deterministic_and_separates():
  rng = np.random.default_rng(0)
  centres = rng.normal(size=(4, 8))
  y = rng.integers(0, 4, 400)
  x = (centres[y] + 0.3 * rng.normal(size=(400, 8))).astype(np.float32)
  w1 = dc.train_perceptron(x_NxD=x, labels_N=y, num_classes=4, epochs=5, seed=3)
  w2 = dc.train_perceptron(x_NxD=x, labels_N=y, num_classes=4, epochs=5, seed=3)
  np.testing.assert_array_equal(w1, w2)
  assert np.mean(dc.predict(w_CxE=w1, x_NxD=x) == y) > 0.95


def _cli(*args):
  env = dict(os.environ, PYTHONPATH=ROOT)
  return subprocess.run([sys.executable, "-m", "clweadv.doc_classification", *args],
                        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


def _data_dir(tmp_path):
  """The slice laid out as the data dir's apt caches, so that nothing is fetched."""
  deb = tmp_path / "data" / "debian"
  os.makedirs(deb / "i18n")
  os.makedirs(deb / "index")
  shutil.copy(os.path.join(SLICE, "Packages.excerpt"), deb / "index" / "Packages.txt")
  for lang in ("en", "fr"):
    shutil.copy(os.path.join(SLICE, f"Translation-{lang}.excerpt"),
                deb / "i18n" / f"Translation-{lang}.txt")
  return str(tmp_path / "data")


def test_cli_writes_the_report(procrustes_run, tmp_path):
  proc = _cli(f"--workdir={procrustes_run}", "--direction=fr-en",
              f"--data_dir={_data_dir(tmp_path)}", "--train_sizes=100,200", "--test_size=150",
              "--min_class_docs=20")
  assert proc.returncode == 0, proc.stderr
  assert "| train docs (fr) | fr -> en accuracy |" in proc.stdout
  with open(os.path.join(procrustes_run, "doc_classification.fr-en.json"),
            encoding="utf-8") as f:
    report = json.load(f)
  assert report["direction"] == "fr-en" and report["run"]["model"] == "procrustes"
  assert [r["train_size"] for r in report["rows"]] == [100, 200]


def test_cli_bad_input(procrustes_run, tmp_path):
  proc = _cli(f"--workdir={procrustes_run}", "--direction=en-de")
  assert proc.returncode == 2
  assert proc.stderr.strip() == ("error: --direction=en-de: this run maps en-fr; use en-fr or "
                                 "fr-en")
  proc = _cli(f"--workdir={tmp_path / 'nowhere'}", "--direction=en-fr")
  assert proc.returncode == 2 and proc.stderr.startswith("error: --workdir=")
  assert len(proc.stderr.strip().splitlines()) == 1
  bare = tmp_path / "bare"
  os.makedirs(bare)
  shutil.copy(os.path.join(procrustes_run, "config.json"), bare / "config.json")
  proc = _cli(f"--workdir={bare}", "--direction=en-fr")
  assert proc.returncode == 2 and "--export" in proc.stderr, proc.stderr
  proc = _cli(f"--workdir={procrustes_run}", "--direction=en-fr", "--train_sizes=0")
  assert proc.returncode == 2 and "--train_sizes=0" in proc.stderr
