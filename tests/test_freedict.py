"""The dictd parser on real FreeDict entries, the shipped pair lists, and the dictionary splits."""

import os

import pytest

from clweadv.data import freedict
from clweadv.embeddings import read_embeddings
from clweadv.errors import InputError

ROOT = os.path.join(os.path.dirname(__file__), "..", "third_party")
EXCERPT = os.path.join(ROOT, "freedict", "excerpt")


def test_b64_numbers():
  assert freedict.b64_decode("A") == 0
  assert freedict.b64_decode("/") == 63
  assert freedict.b64_decode("BA") == 64
  assert freedict.b64_decode("c/") == 28 * 64 + 63
  with pytest.raises(ValueError):
    freedict.b64_decode("a-b")


def test_eng_fra_entries():
  entries = dict(freedict.read_dictd(os.path.join(EXCERPT, "freedict-eng-fra.index")))
  assert entries["Monday"] == ["lundi"]
  assert entries["aid"] == ["adjoint", "aider", "assister", "secourir", "aide"]
  assert entries["cat"] == ["mégère", "peau de vache", "rosse", "chat"]
  assert entries["Abyssinian"] == ["abyssin", "Abyssin"]
  assert entries["ABC"] == ["abc", "alphabet"]


def test_deu_eng_entries_skip_notes_and_examples():
  entries = dict(freedict.read_dictd(os.path.join(EXCERPT, "freedict-deu-eng.index")))
  assert entries["Wasser"] == ["water"]            # examples and "see:" lines are indented
  assert entries["Apfel"] == ["apple"]             # [bot.] [cook.] and <n> removed
  assert entries["A"][:2] == ["A", "A sharp"]
  assert entries["Montag"][0].startswith("Monday")


def test_extract_pairs_letters_only_lowercase_and_reversed():
  pairs = freedict.extract_pairs(os.path.join(EXCERPT, "freedict-eng-fra.index"))
  assert ("monday", "lundi") in pairs and ("cat", "chat") in pairs
  assert not any(" " in s + t for s, t in pairs)  # "peau de vache" dropped
  back = freedict.extract_pairs(os.path.join(EXCERPT, "freedict-deu-eng.index"), reverse=True)
  assert ("water", "wasser") in back and ("apple", "apfel") in back


def test_shipped_lists():
  pairs = freedict.read_pairs(os.path.join(ROOT, "freedict", "en-fr.txt"))
  assert len(pairs) == 13351
  assert len({s for s, _ in pairs}) == 7639
  assert ("monday", "lundi") in set(pairs)
  assert all(s.isalpha() and t.isalpha() and s == s.lower() and t == t.lower()
             for s, t in pairs)
  assert len(freedict.read_pairs(os.path.join(ROOT, "freedict", "en-it.txt"))) == 6039


def test_bad_dictionary_line(tmp_path):
  bad = tmp_path / "d.txt"
  bad.write_text("cat chat\ndog\n")
  with pytest.raises(InputError, match=r"d\.txt:2:"):
    freedict.read_pairs(str(bad))


@pytest.fixture(scope="module")
def glove_fasttext():
  en = read_embeddings(os.path.join(ROOT, "glove6b", "en.top5000.vec"))
  fr = read_embeddings(os.path.join(ROOT, "fasttext_fr", "fr.top4000.vec"))
  return en, fr


def _check_split(train, test, by_src, rank):
  train_src = [s for s, _ in train]
  test_src = [s for s, _ in test]
  assert not set(train_src) & set(test_src)
  assert train_src == sorted(train_src, key=rank.get)   # frequency order
  assert test_src == sorted(test_src, key=rank.get)
  for s in set(test_src):                                # all gold targets kept
    assert {t for w, t in test if w == s} == by_src[s]


def test_random_split_on_real_vocabularies(glove_fasttext):
  en, fr = glove_fasttext
  gold = freedict.read_pairs(os.path.join(ROOT, "freedict", "en-fr.txt"))
  train, test, info = freedict.split_dictionary(gold, src_rank=en.index, tgt_words=fr.index,
                                                test_size=300, seed=0)
  assert info["split_mode"] == "random"
  assert info["test_source_words"] == 300
  by_src = {}
  for s, t in gold:
    if s in en.index and t in fr.index:
      by_src.setdefault(s, set()).add(t)
  assert info["covered_source_words"] == len(by_src)
  _check_split(train, test, by_src, en.index)
  again = freedict.split_dictionary(gold, src_rank=en.index, tgt_words=fr.index, test_size=300,
                                    seed=0)
  assert again[1] == test                                # seeded


def test_rank_split(glove_fasttext):
  en, fr = glove_fasttext
  gold = freedict.read_pairs(os.path.join(ROOT, "freedict", "en-fr.txt"))
  train, test, info = freedict.split_dictionary(gold, src_rank=en.index, tgt_words=fr.index,
                                                train_size=200, test_size=100,
                                                min_for_rank_split=300)
  assert info["split_mode"] == "rank"
  assert info["train_source_words"] == 200 and info["test_source_words"] == 100
  assert max(en.index[s] for s, _ in train) < min(en.index[s] for s, _ in test)
  by_src = {}
  for s, t in gold:
    if s in en.index and t in fr.index:
      by_src.setdefault(s, set()).add(t)
  _check_split(train, test, by_src, en.index)
