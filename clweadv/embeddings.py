"""Reading and writing word embeddings: word2vec/fastText text (.vec), word2vec binary, counts.

Every malformed input raises `InputError` naming the file and, where it applies, the line.
"""

import dataclasses
import os
from typing import Optional

import numpy as np

from clweadv.errors import InputError
from clweadv.fileio import atomic_open, split_lines


@dataclasses.dataclass
class Embeddings:
  """A vocabulary in frequency order, its vectors (float32, N x D) and optional corpus counts."""
  words: list
  vectors: np.ndarray
  counts: Optional[np.ndarray] = None
  path: str = ""

  def __post_init__(self):
    self.index = {w: i for i, w in enumerate(self.words)}

  def __len__(self):
    return len(self.words)

  @property
  def dim(self):
    return self.vectors.shape[1]


def _check_file(path, what="file"):
  if not path:
    raise InputError(f"no {what} given")
  if not os.path.isfile(path):
    raise InputError(f"{path}: no such {what}")


def _parse_header(first, path):
  parts = first.split()
  if len(parts) == 2 and all(p.isdigit() for p in parts):
    return int(parts[0]), int(parts[1])
  if len(parts) == 2 or (len(parts) < 2):
    raise InputError(f"{path}:1: malformed header {first.strip()!r} (expected 'count dim' "
                     f"or a word followed by its vector)")
  return None


def _read_text(path, max_vocab):
  words, rows = [], []
  dim = None
  declared = None
  with open(path, "rb") as f:
    for lineno, raw in enumerate(f, start=1):
      try:
        line = raw.decode("utf-8")
      except UnicodeDecodeError as e:
        raise InputError(f"{path}:{lineno}: not valid UTF-8 ({e.reason} at byte {e.start})")
      line = line.rstrip("\r\n")
      if lineno == 1:
        declared = _parse_header(line, path)
        if declared is not None:
          dim = declared[1]
          if dim <= 0:
            raise InputError(f"{path}:1: header declares dimension {dim}")
          continue
      if not line.strip():
        continue
      parts = line.rstrip(" ").split(" ")
      if dim is None:
        dim = len(parts) - 1
      if len(parts) - 1 != dim:
        if declared is not None and not rows:  # The first row disagrees with the header.
          raise InputError(f"{path}:1: the header declares dimension {dim}, but the first "
                           f"vector (line {lineno}) has {len(parts) - 1} values")
        raise InputError(f"{path}:{lineno}: row has {len(parts) - 1} values, expected {dim}")
      try:
        rows.append(np.array(parts[1:], dtype=np.float32))
      except ValueError:
        raise InputError(f"{path}:{lineno}: non-numeric value in the vector of {parts[0]!r}")
      words.append(parts[0])
      if max_vocab and len(words) >= max_vocab:
        break
  if not words:
    raise InputError(f"{path}: no vectors found")
  if declared is not None and not max_vocab and len(words) != declared[0]:
    raise InputError(f"{path}: header declares {declared[0]} words, file has {len(words)}")
  return words, np.stack(rows), lambda i: i + (2 if declared is not None else 1)


def _read_binary(path, max_vocab):
  with open(path, "rb") as f:
    header = f.readline()
    try:
      n, dim = (int(x) for x in header.split())
    except ValueError:
      raise InputError(f"{path}:1: malformed word2vec binary header {header[:40]!r}")
    if max_vocab:
      n = min(n, max_vocab)
    words, vectors = [], np.empty((n, dim), np.float32)
    for i in range(n):
      chars = bytearray()
      while True:
        c = f.read(1)
        if not c:
          raise InputError(f"{path}: truncated at word {i + 1} of {n}")
        if c == b" ":
          break
        if c != b"\n":
          chars += c
      try:
        words.append(chars.decode("utf-8"))
      except UnicodeDecodeError:
        raise InputError(f"{path}: word {i + 1} is not valid UTF-8")
      buf = f.read(4 * dim)
      if len(buf) != 4 * dim:
        raise InputError(f"{path}: truncated in the vector of word {i + 1} of {n}")
      vectors[i] = np.frombuffer(buf, dtype="<f4")
  return words, vectors, lambda i: f"word {i + 1}"


def read_counts(path, words=None):
  """Reads a `word count` file. Returns counts aligned with `words` (or a dict without them)."""
  _check_file(path, "vocabulary file")
  counts = {}
  for lineno, parts in split_lines(path):
    if len(parts) != 2:
      raise InputError(f"{path}:{lineno}: expected 'word count', got {len(parts)} fields")
    try:
      c = int(parts[1])
    except ValueError:
      raise InputError(f"{path}:{lineno}: count {parts[1]!r} is not an integer")
    if c < 0:
      raise InputError(f"{path}:{lineno}: negative count {c}")
    counts[parts[0]] = c
  if words is None:
    return counts
  missing = [w for w in words if w not in counts]
  if missing:
    raise InputError(f"{path}: {len(missing)} embedding words have no count "
                     f"(first: {missing[0]!r})")
  return np.array([counts[w] for w in words], dtype=np.int64)


def read_embeddings(path, *, max_vocab=0, vocab_path=None):
  """Reads embeddings, keeping the first `max_vocab` words (0 = all): word2vec binary for names
  ending in `.bin`, text (`.vec`) otherwise."""
  _check_file(path, "embedding file")
  reader = _read_binary if path.endswith(".bin") else _read_text
  words, vectors, where = reader(path, max_vocab)
  bad = ~np.isfinite(vectors).all(axis=1)
  if bad.any():
    i = int(np.argmax(bad))
    raise InputError(f"{path}:{where(i)}: non-finite value (NaN/inf) in the vector of "
                     f"{words[i]!r}")
  seen = {}
  for i, w in enumerate(words):
    if w in seen:
      raise InputError(f"{path}:{where(i)}: duplicate word {w!r} (first at "
                       f"{where(seen[w])})")
    seen[w] = i
  counts = read_counts(vocab_path, words) if vocab_path else None
  return Embeddings(words=words, vectors=vectors, counts=counts, path=path)


def write_vec(path, words, vectors, *, precision=6):
  """Writes a `.vec` text file with a `count dim` header, atomically."""
  vectors = np.asarray(vectors, dtype=np.float32)
  with atomic_open(path) as f:
    f.write(f"{len(words)} {vectors.shape[1]}\n")
    fmt = " ".join([f"%.{precision}g"] * vectors.shape[1]) + "\n"
    for w, v in zip(words, vectors.tolist()):  # Python floats: formatted ~3x faster.
      f.write(w + " " + fmt % tuple(v))


def write_counts(path, words, counts):
  with atomic_open(path) as f:
    for w, c in zip(words, counts):
      f.write(f"{w} {int(c)}\n")
