"""BLI, criterion, diversity, neighbour tables on real slices (GloVe en, fastText fr, FreeDict)."""

import glob
import os

import numpy as np
import pytest

from clweadv.bli import evaluation
from clweadv.dictionary import read_dictionary
from clweadv.embeddings import read_embeddings
from clweadv.errors import InputError

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
GLOVE = os.path.join(ROOT, "third_party", "glove6b", "en.top5000.vec")
FASTTEXT_FR = sorted(glob.glob(os.path.join(ROOT, "third_party", "fasttext_fr", "fr.top*.vec")))[0]
EN_FR = os.path.join(ROOT, "third_party", "freedict", "en-fr.txt")


@pytest.fixture(scope="module")
def en():
  return read_embeddings(GLOVE)


@pytest.fixture(scope="module")
def fr():
  return read_embeddings(FASTTEXT_FR)


def _rotation(dim, seed=0):
  q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((dim, dim)))
  return (q * np.sign(np.diag(r))).astype(np.float32)


def _write(path, text):
  path.write_text(text, encoding="utf-8")
  return str(path)


@pytest.mark.parametrize("which", ["en", "fr"])
def test_rotated_copy_is_found_exactly(which, en, fr, tmp_path):
  emb = en if which == "en" else fr
  rotated = emb.vectors @ _rotation(emb.dim)
  words = emb.words[1000:2500]  # 1,500 identity pairs, past the most frequent words
  path = _write(tmp_path / "identity.txt", "".join(f"{w} {w}\n" for w in words))
  dico = read_dictionary(path, src_index=emb.index, tgt_index=emb.index)
  assert dico.num_queries == 1500 and dico.coverage == 100.0
  # Source = the rotated copy mapped back by the exact inverse; target = the original.
  mapped = rotated @ _rotation(emb.dim).T
  block = evaluation.bli(src_mapped_NxE=mapped, tgt_MxE=emb.vectors, dictionary=dico)
  assert block == {"dictionary": "identity.txt", "queries": 1500, "coverage": 100.0,
                   "nn": {"p@1": 100.0, "p@5": 100.0, "p@10": 100.0},
                   "csls": {"p@1": 100.0, "p@5": 100.0, "p@10": 100.0}}
  crit = evaluation.mean_cosine_criterion(src_mapped_NxE=mapped, tgt_MxE=emb.vectors, top_n=2000)
  assert crit == pytest.approx(1.0, abs=1e-5)
  # Unmapped, the rotated copy finds (almost) nothing: the test is not trivially passed.
  unmapped = evaluation.bli(src_mapped_NxE=rotated, tgt_MxE=emb.vectors, dictionary=dico,
                            methods=("nn",))
  assert unmapped["nn"]["p@1"] < 5.0 and unmapped["csls"] is None


def test_precision_counts_any_gold_target():
  topk = np.array([[5, 6, 7], [1, 2, 3], [9, 8, 4]])
  gold = np.array([[7, -1], [4, 1], [0, 3]])
  p = evaluation.precision_at_k(topk_ids_QxK=topk, gold_QxG=gold, ks=(1, 2, 3))
  assert p == {1: pytest.approx(100 / 3), 2: pytest.approx(100 / 3), 3: pytest.approx(200 / 3)}


def test_bli_matches_bruteforce_on_procrustes_pair(en, fr):
  dico = read_dictionary(EN_FR, src_index=en.index, tgt_index=fr.index, quiet=True)
  mapped = en.vectors @ _procrustes(en, fr, dico)
  block = evaluation.bli(src_mapped_NxE=mapped, tgt_MxE=fr.vectors, dictionary=dico)
  x = mapped / np.linalg.norm(mapped, axis=1, keepdims=True)
  y = fr.vectors / np.linalg.norm(fr.vectors, axis=1, keepdims=True)
  cos = x.astype(np.float64) @ y.T.astype(np.float64)
  r_src = np.sort(cos, axis=1)[:, -10:].mean(axis=1)
  r_tgt = np.sort(cos.T, axis=1)[:, -10:].mean(axis=1)
  csls = 2 * cos - r_src[:, None] - r_tgt[None, :]
  gold = dico.gold_matrix()
  for method, scores in (("nn", cos), ("csls", csls)):
    ids = np.argsort(-scores[dico.src_ids], axis=1, kind="stable")[:, :10]
    ref = evaluation.precision_at_k(topk_ids_QxK=ids, gold_QxG=gold, ks=(1, 5, 10))
    for k, p in ref.items():
      assert block[method][f"p@{k}"] == pytest.approx(p, abs=1e-3)
  # Supervised ceiling on this pair, with CSLS better than NN (as everywhere in the literature).
  assert block["csls"]["p@1"] > block["nn"]["p@1"] > 20.0


def _procrustes(src, tgt, dico):
  """Supervised orthogonal map (SVD of X^T Y), semi-orthogonal when the dimensions differ."""
  s, t = dico.pairs()
  u, _, vt = np.linalg.svd(src.vectors[s].T.astype(np.float64) @ tgt.vectors[t],
                           full_matrices=False)
  return (u @ vt).astype(np.float32)


def test_neighbours_table_of_procrustes_pair_has_translations(en, fr):
  dico = read_dictionary(EN_FR, src_index=en.index, tgt_index=fr.index, quiet=True)
  mapped = en.vectors @ _procrustes(en, fr, dico)
  words = ("water", "computer", "rain", "anime", "France")
  table = evaluation.neighbours_table(words=words, src_index=en.index, src_mapped_NxE=mapped,
                                      tgt_words=fr.words, tgt_MxE=fr.vectors, k=10)
  rows = {line.split(" | ")[0].lstrip("| "): line.strip("| \n").split(" | ")[1:]
          for line in table.splitlines()[2:]}
  assert table.splitlines()[0] == "| word | " + " | ".join(map(str, range(1, 11))) + " |"
  assert "eau" in rows["water"]
  assert "ordinateur" in rows["computer"]
  assert "pluie" in rows["rain"]
  assert rows["anime"][0] == "(not in vocabulary)"  # not among GloVe's 5,000 first words
  assert "france" in rows["France"]  # found lowercased
  assert len(rows["water"]) == 10


def test_diversity_is_exact_mean_pairwise_cosine(fr):
  x = fr.vectors[:1500]
  u = x / np.linalg.norm(x, axis=1, keepdims=True)
  sim = u.astype(np.float64) @ u.T.astype(np.float64)
  n = len(x)
  expected = (sim.sum() - np.trace(sim)) / (n * (n - 1))
  assert evaluation.diversity(mapped_NxE=x, top_n=1500) == pytest.approx(expected, abs=1e-6)
  rotated = x @ _rotation(fr.dim, seed=3)
  assert evaluation.diversity(mapped_NxE=rotated, top_n=1500) == pytest.approx(expected, abs=1e-5)
  collapsed = np.tile(x[:1], (500, 1)) * np.linspace(0.5, 2.0, 500)[:, None]
  assert evaluation.diversity(mapped_NxE=collapsed) == pytest.approx(1.0, abs=1e-5)


def test_criterion_matches_bruteforce_muse_definition(en, fr):
  dico = read_dictionary(EN_FR, src_index=en.index, tgt_index=fr.index, quiet=True)
  mapped = en.vectors @ _procrustes(en, fr, dico)
  x = mapped / np.linalg.norm(mapped, axis=1, keepdims=True)
  y = fr.vectors / np.linalg.norm(fr.vectors, axis=1, keepdims=True)
  cos = x.astype(np.float64) @ y.T.astype(np.float64)
  r_src = np.sort(cos, axis=1)[:, -10:].mean(axis=1)
  r_tgt = np.sort(cos.T, axis=1)[:, -10:].mean(axis=1)
  top_n = 1000
  best = np.argmax(2 * cos[:top_n] - r_src[:top_n, None] - r_tgt[None, :], axis=1)
  keep = best < top_n  # MUSE drops translations outside the top_n target words
  assert 0 < keep.sum() < top_n
  expected = cos[np.arange(top_n)[keep], best[keep]].mean()
  crit = evaluation.mean_cosine_criterion(src_mapped_NxE=mapped, tgt_MxE=fr.vectors, top_n=top_n)
  assert crit == pytest.approx(expected, abs=1e-5)
  # The identity map of a space onto itself is the maximum, 1.
  same = evaluation.mean_cosine_criterion(src_mapped_NxE=en.vectors, tgt_MxE=en.vectors,
                                          top_n=1000)
  assert same == pytest.approx(1.0, abs=1e-5)


# Dictionary parsing.

def test_dictionary_coverage_counts_and_reverse(en, fr, tmp_path):
  path = _write(tmp_path / "d.txt", "water eau\nwater onde\nrain pluie\nxyzzyq chose\n"
                "computer zzzqqq\n\nwater eau\n")
  dico = read_dictionary(path, src_index=en.index, tgt_index=fr.index)
  assert dico.num_src_words == 4 and dico.num_pairs == 5
  assert dico.missing_src == 1 and dico.missing_tgt == 1
  assert dico.num_queries == 2 and dico.coverage == 50.0
  assert [en.words[i] for i in dico.src_ids] == ["water", "rain"]
  assert [fr.words[i] for i in dico.gold_ids[1]] == ["pluie"]
  assert "eau" in [fr.words[i] for i in dico.gold_ids[0]]
  src, tgt = dico.pairs()
  assert len(src) == len(tgt) == dico.num_pairs_in_vocab
  back = read_dictionary(path, src_index=fr.index, tgt_index=en.index, reverse=True)
  assert fr.words[back.src_ids[0]] == "eau" and en.words[back.gold_ids[0][0]] == "water"


@pytest.mark.parametrize("text,message", [
    ("water eau\nrain\n", r"d\.txt:2: expected 'source target' \(2 columns\), found 1"),
    ("water eau\n\nrain pluie forte\n", r"d\.txt:3: .* found 3"),
    ("", r"d\.txt: empty dictionary"),
    ("\n  \n", r"d\.txt: empty dictionary"),
    ("xyzzyq quux\n", r"d\.txt: none of its 1 pairs"),
])
def test_dictionary_errors(text, message, en, fr, tmp_path):
  path = _write(tmp_path / "d.txt", text)
  with pytest.raises(InputError, match=message):
    read_dictionary(path, src_index=en.index, tgt_index=fr.index)


def test_dictionary_missing_file(en, tmp_path):
  with pytest.raises(InputError, match="no such dictionary file"):
    read_dictionary(str(tmp_path / "nope.txt"), src_index=en.index, tgt_index=en.index)


def test_bli_refuses_a_dictionary_read_against_other_vocabularies(en, fr):
  dico = read_dictionary(EN_FR, src_index=en.index, tgt_index=fr.index, quiet=True)
  with pytest.raises(ValueError, match="larger vocabularies"):
    evaluation.bli(src_mapped_NxE=en.vectors[:100], tgt_MxE=fr.vectors[:, :50], dictionary=dico)
