"""Bilingual dictionaries in the MUSE format: one `source target` pair per line.

A source word may appear on several lines: each line adds one gold target. Words are matched
exactly (no case folding) against the two vocabularies.

Coverage, as reported beside every precision: the percentage of the dictionary's *distinct source
words* that (a) are in the source vocabulary and (b) have at least one gold target in the target
vocabulary. Exactly those words are the queries; their gold sets keep only the in-vocabulary
targets. Out-of-vocabulary words are counted, never an error.
"""

import dataclasses
import os

import numpy as np

from clweadv.errors import InputError, warn
from clweadv.fileio import split_lines


@dataclasses.dataclass(frozen=True)
class Dictionary:
  """Queries and gold targets of a dictionary, as row indices into the two vocabularies.

  Attributes:
    path: the file read.
    src_ids: (Q,) int32 source rows of the queries, in order of first appearance in the file.
    gold_ids: Q int32 arrays, the in-vocabulary gold target rows of each query (never empty).
    num_src_words: distinct source words in the file.
    num_pairs: distinct (source, target) pairs in the file.
    num_pairs_in_vocab: pairs whose two words are both in the vocabularies.
    missing_src: distinct source words absent from the source vocabulary.
    missing_tgt: source words in the vocabulary none of whose targets is in the target one.
  """
  path: str
  src_ids: np.ndarray
  gold_ids: tuple
  num_src_words: int
  num_pairs: int
  num_pairs_in_vocab: int
  missing_src: int
  missing_tgt: int

  @property
  def name(self):
    return os.path.basename(self.path)

  @property
  def num_queries(self):
    return len(self.src_ids)

  @property
  def coverage(self):
    """Percentage (0-100) of distinct source words that became queries."""
    return 100.0 * self.num_queries / self.num_src_words

  def gold_matrix(self):
    """(Q, G) int32 gold target rows, padded with -1 to the largest gold set size G."""
    width = max(len(g) for g in self.gold_ids)
    out = np.full((self.num_queries, width), -1, np.int32)
    for row, gold in enumerate(self.gold_ids):
      out[row, :len(gold)] = gold
    return out

  def pairs(self):
    """(src_rows, tgt_rows), two aligned int32 arrays of every in-vocabulary pair."""
    src = np.repeat(self.src_ids, [len(g) for g in self.gold_ids]).astype(np.int32)
    tgt = np.concatenate(self.gold_ids).astype(np.int32)
    return src, tgt


def read_pairs(path):
  """The distinct (source, target) word pairs of a MUSE-style file, in file order."""
  if not path:
    raise InputError("no dictionary given")
  if not os.path.isfile(path):
    raise InputError(f"{path}: no such dictionary file")
  pairs, seen = [], set()
  for lineno, parts in split_lines(path):
    if len(parts) != 2:
      raise InputError(f"{path}:{lineno}: expected 'source target' (2 columns), found "
                       f"{len(parts)}: {' '.join(parts)[:60]!r}")
    pair = (parts[0], parts[1])
    if pair not in seen:
      seen.add(pair)
      pairs.append(pair)
  if not pairs:
    raise InputError(f"{path}: empty dictionary (no 'source target' lines)")
  return pairs


def read_dictionary(path, *, src_index, tgt_index, reverse=False, quiet=False):
  """Reads a MUSE-style dictionary against two vocabularies (`word -> row` mappings).

  Args:
    path: the dictionary file.
    src_index: source vocabulary, e.g. `Embeddings.index`.
    tgt_index: target vocabulary.
    reverse: read the file's second column as the source (the target -> source direction).
    quiet: no warning about out-of-vocabulary words.

  Raises:
    InputError: missing file, a line without exactly two columns, no pair at all, or no pair
      whose two words are in the vocabularies.
  """
  pairs = read_pairs(path)
  if reverse:
    pairs = [(t, s) for s, t in pairs]
  gold = {}
  for s, t in pairs:
    gold.setdefault(s, [])
    if s in src_index and t in tgt_index:
      gold[s].append(tgt_index[t])
  missing_src = sum(1 for s in gold if s not in src_index)
  queries = [s for s, g in gold.items() if g]
  missing_tgt = len(gold) - missing_src - len(queries)
  in_vocab = sum(len(gold[s]) for s in queries)
  if not quiet and (missing_src or missing_tgt):
    warn(f"{path}: {missing_src} of {len(gold)} source words not in the source vocabulary, "
         f"{missing_tgt} more without any target in the target vocabulary; {len(queries)} "
         f"queries (coverage {100.0 * len(queries) / len(gold):.1f}%), {in_vocab} of "
         f"{len(pairs)} pairs used")
  if not queries:
    raise InputError(f"{path}: none of its {len(pairs)} pairs has both words in the embedding "
                     f"vocabularies ({missing_src} of {len(gold)} source words missing)")
  return Dictionary(
      path=os.fspath(path),
      src_ids=np.array([src_index[s] for s in queries], np.int32),
      gold_ids=tuple(np.array(gold[s], np.int32) for s in queries),
      num_src_words=len(gold), num_pairs=len(pairs), num_pairs_in_vocab=in_vocab,
      missing_src=missing_src, missing_tgt=missing_tgt)
