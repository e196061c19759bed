"""experiments/reproduce.py: which runs a claim still needs, their commands, translation ranks."""

import importlib.util
import os

from clweadv.embeddings import read_embeddings, write_vec

from conftest import EN_GLOVE, ROOT

_spec = importlib.util.spec_from_file_location(
    "reproduce", os.path.join(ROOT, "experiments", "reproduce.py"))
reproduce = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reproduce)


def test_every_claim_names_known_runs_with_existing_flagfiles():
  for claim in reproduce.CLAIMS:
    for name in reproduce.CLAIM_RUNS[claim]:
      assert os.path.isfile(os.path.join(ROOT, reproduce.RUNS[name].flagfile)), name


def test_missing_runs_skips_finished_ones_and_repeats(tmp_path):
  os.makedirs(tmp_path / "en_it")
  (tmp_path / "en_it" / "results.json").write_text("{}")
  assert reproduce.missing_runs(["en_it", "en_de", "en_de", "de_en"], str(tmp_path)) == [
      "en_de", "de_en"]
  argv = reproduce.command(reproduce.RUNS["en_it_procrustes"], runs_dir="/r",
                           train_dictionary="/d/train.txt")
  assert argv[1:4] == ["-m", "clweadv.main", "--flagfile=experiments/en_it_unsup.flags"]
  assert "--workdir=/r/en_it_procrustes" in argv and argv[-1] == "--train_dictionary=/d/train.txt"


def test_translation_ranks_on_a_real_slice(tmp_path):
  emb = read_embeddings(EN_GLOVE)
  assert "computer" in emb.index and "rain" in emb.index
  # The target space is the source space itself: every word's nearest target is itself.
  write_vec(str(tmp_path / "vectors-en.vec"), emb.words, emb.vectors)
  write_vec(str(tmp_path / "vectors-xx.vec"), emb.words, emb.vectors)
  ranks = reproduce.translation_ranks(
      str(tmp_path), src_lang="en", tgt_lang="xx",
      translations=(("Computer", ("computer",)), ("rain", ("nosuchword", "rain")),
                    ("nosuchword", ("rain",)), ("computer", ("nosuchword",))))
  assert ranks == {"Computer": 1, "rain": 1, "nosuchword": None, "computer": None}
