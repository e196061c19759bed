"""Embedding I/O on a real slice: .vec with and without header, word2vec binary, round trip."""

import numpy as np

from clweadv.embeddings import read_counts, read_embeddings, write_counts, write_vec

from conftest import EN_GLOVE


def test_text_binary_and_headerless_agree(tmp_path):
  ref = read_embeddings(EN_GLOVE, max_vocab=300)
  assert ref.words[:3] == ["the", ",", "."] and ref.vectors.shape == (300, 50)
  with open(EN_GLOVE, encoding="utf-8") as f:
    lines = f.readlines()[1:301]
  (tmp_path / "noheader.vec").write_text("".join(lines), encoding="utf-8")
  headerless = read_embeddings(str(tmp_path / "noheader.vec"))
  assert headerless.words == ref.words
  np.testing.assert_array_equal(headerless.vectors, ref.vectors)
  with open(tmp_path / "w2v.bin", "wb") as f:
    f.write(b"300 50\n")
    for w, v in zip(ref.words, ref.vectors):
      f.write(w.encode("utf-8") + b" " + v.astype("<f4").tobytes() + b"\n")
  binary = read_embeddings(str(tmp_path / "w2v.bin"), max_vocab=200)
  assert binary.words == ref.words[:200]
  np.testing.assert_array_equal(binary.vectors, ref.vectors[:200])


def test_vec_and_counts_round_trip(tmp_path):
  ref = read_embeddings(EN_GLOVE, max_vocab=500)
  write_vec(str(tmp_path / "out.vec"), ref.words, ref.vectors)
  write_counts(str(tmp_path / "out.vocab"), ref.words, np.arange(500, 0, -1))
  back = read_embeddings(str(tmp_path / "out.vec"), vocab_path=str(tmp_path / "out.vocab"))
  assert back.words == ref.words
  np.testing.assert_allclose(back.vectors, ref.vectors, rtol=1e-5)
  assert back.counts[0] == 500 and back.counts[-1] == 1
  assert read_counts(str(tmp_path / "out.vocab"))["the"] == 500
