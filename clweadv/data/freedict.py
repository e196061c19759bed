"""Gold bilingual dictionaries: a dictd (FreeDict) parser, pair extraction and MUSE-style splits.

A dictd database is an `.index` file (`headword<TAB>offset<TAB>length`, offset and length in
base64 digits, most significant first) and a gzip-readable `.dict.dz` holding the entries. An
entry is the headword line (with an optional `/IPA/` and `<...>` notes), then its translations:
either on the next line, or as numbered sense lines `1. ...`; indented lines are notes, synonyms,
examples and cross-references and are skipped, except a translation line that starts with one
space and a `[domain]` label (Ding's English-German data). Translations are separated by `,` or `;`; `<...>`, `[...]`,
`(...)` and `{...}` are removed.
"""

import gzip
import itertools
import os
import random
import re

from clweadv import dictionary
from clweadv.errors import InputError
from clweadv.fileio import atomic_open

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_VALUE = {c: i for i, c in enumerate(B64)}

# ISO 639-1 <-> the 639-3 codes FreeDict uses in its package names.
ISO3 = {"en": "eng", "fr": "fra", "it": "ita", "de": "deu", "es": "spa", "nl": "nld",
        "pt": "por", "ru": "rus", "ja": "jpn", "sv": "swe", "da": "dan", "fi": "fin",
        "pl": "pol", "cs": "ces", "hu": "hun", "el": "ell", "tr": "tur", "la": "lat"}

_BRACKETS = re.compile(r"<[^<>]*>|\[[^\[\]]*\]|\([^()]*\)|\{[^{}]*\}")
_IPA = re.compile(r"/[^/]*/")
_SENSE = re.compile(r"^\d+\.\s*")


def b64_decode(digits):
  """Decodes a dictd base64 number (`A`=0 ... `/`=63, most significant digit first)."""
  value = 0
  for c in digits:
    try:
      value = value * 64 + _B64_VALUE[c]
    except KeyError:
      raise ValueError(f"not a base64 digit: {c!r}")
  return value


def read_index(path):
  """Returns [(headword, offset, length)] from a dictd `.index` file."""
  if not os.path.isfile(path):
    raise InputError(f"{path}: no such dictd index file")
  out = []
  with open(path, "rb") as f:
    for lineno, raw in enumerate(f, start=1):
      line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
      if not line:
        continue
      parts = line.split("\t")
      if len(parts) < 3:
        raise InputError(f"{path}:{lineno}: expected 'headword<TAB>offset<TAB>length'")
      try:
        out.append((parts[0], b64_decode(parts[1]), b64_decode(parts[2])))
      except ValueError as e:
        raise InputError(f"{path}:{lineno}: {e}")
  return out


def read_dict_data(path):
  """Returns the uncompressed bytes of a `.dict.dz` (gzip) or plain `.dict` file."""
  if not os.path.isfile(path):
    raise InputError(f"{path}: no such dictd data file")
  try:
    if path.endswith(".dz") or path.endswith(".gz"):
      with gzip.open(path, "rb") as f:
        return f.read()
    with open(path, "rb") as f:
      return f.read()
  except (OSError, EOFError) as e:
    raise InputError(f"{path}: cannot read ({e})")


def parse_entry(text):
  """Parses one dictd entry. Returns (headword, [translation strings]) before cleaning."""
  lines = text.split("\n")
  while lines and not lines[0].strip():
    lines.pop(0)
  if not lines:
    return "", []
  head = _BRACKETS.sub(" ", _IPA.sub(" ", lines[0])).strip()
  translations = []
  for line in lines[1:]:
    if not line.strip():
      continue
    if line[0] in " \t" and not line.startswith(" ["):
      continue  # An indented note, synonym list, example or cross-reference ("see: ...").
    line = _SENSE.sub("", line.strip())
    line = _BRACKETS.sub(" ", line)
    translations.extend(t.strip() for t in re.split(r"[,;]", line) if t.strip())
  return head, translations


def read_dictd(index_path, data_path=None):
  """Yields (headword, [translations]) for every entry of a dictd database."""
  if data_path is None:
    data_path = index_path[:-len(".index")] + ".dict.dz"
  index = read_index(index_path)
  data = read_dict_data(data_path)
  seen = set()
  for headword, offset, length in index:
    if headword.startswith("00database") or headword.startswith("00-database"):
      continue
    if (offset, length) in seen:
      continue
    seen.add((offset, length))
    if offset + length > len(data):
      raise InputError(f"{index_path}: entry {headword!r} points past the end of {data_path}")
    text = data[offset:offset + length].decode("utf-8", errors="replace")
    yield parse_entry(text)


def clean_word(word):
  """Lowercase; returns '' unless the word is a single token made only of letters."""
  word = word.strip().lower()
  return word if word.isalpha() else ""


def extract_pairs(index_path, data_path=None, *, reverse=False):
  """Set of (src, tgt) lowercase letters-only single-word pairs of one dictd database."""
  pairs = set()
  for head, translations in read_dictd(index_path, data_path):
    h = clean_word(head)
    if not h:
      continue
    for t in translations:
      t = clean_word(t)
      if t:
        pairs.add((t, h) if reverse else (h, t))
  return pairs


# The MUSE-format reader is shared with the evaluation: distinct `src tgt` pairs, file order.
read_pairs = dictionary.read_pairs


def write_pairs(path, pairs):
  with atomic_open(path) as f:
    for s, t in pairs:
      f.write(f"{s} {t}\n")


def split_dictionary(pairs, *, src_rank, tgt_words, test_size=1500, train_size=5000,
                     min_for_rank_split=6500, seed=0):
  """Splits gold pairs against two vocabularies; all gold targets of a source word are kept.

  Args:
    pairs: iterable of (src, tgt) gold pairs.
    src_rank: dict source word -> frequency rank (0 = most frequent) of the source vocabulary.
    tgt_words: container of the target vocabulary.
  Returns:
    (train_pairs, test_pairs, info): pairs ordered by source rank; `info` has the mode
    ("rank" when at least `min_for_rank_split` source words are covered: train = the
    `train_size` most frequent covered words, test = the next `test_size`; else "random": a
    seeded random `test_size` test words (fewer when that would leave under 500, or half, of
    the covered words for training) and up to `train_size` others, most frequent first),
    counts and coverage.
  """
  pairs = set(pairs)
  by_src = {}
  total_src = set()
  for s, t in pairs:
    total_src.add(s)
    if s in src_rank and t in tgt_words:
      by_src.setdefault(s, set()).add(t)
  covered = sorted(by_src, key=lambda w: src_rank[w])
  if len(covered) >= min_for_rank_split:
    mode = "rank"
    train_words = covered[:train_size]
    test_words = covered[train_size:train_size + test_size]
  else:
    mode = "random"
    # `test_size` test words, leaving at least min(500, half) covered words for training.
    n_test = min(test_size, len(covered) - min(500, len(covered) // 2))
    rng = random.Random(seed)
    test_set = set(rng.sample(covered, n_test))
    test_words = [w for w in covered if w in test_set]
    train_words = [w for w in covered if w not in test_set][:train_size]
  train = [(s, t) for s in train_words for t in sorted(by_src[s])]
  test = [(s, t) for s in test_words for t in sorted(by_src[s])]
  info = {
      "split_mode": mode,
      "gold_pairs": len(pairs),
      "gold_source_words": len(total_src),
      "covered_source_words": len(covered),
      "source_coverage": round(len(covered) / max(1, len(total_src)), 4),
      "train_source_words": len(train_words),
      "train_pairs": len(train),
      "test_source_words": len(test_words),
      "test_pairs": len(test),
      "seed": seed,
  }
  return train, test, info


def dictd_paths(dictd_dir, src, tgt):
  """Index paths of FreeDict's src->tgt database in `dictd_dir` (or None if absent)."""
  a, b = ISO3.get(src, src), ISO3.get(tgt, tgt)
  for sub in ("", "usr/share/dictd"):
    path = os.path.join(dictd_dir, sub, f"freedict-{a}-{b}.index")
    if os.path.isfile(path):
      return path
  return None


def extract_pair(dictd_dir, src, tgt):
  """Merged (src, tgt) pairs from FreeDict src->tgt and tgt->src found in `dictd_dir`.

  Returns (pairs, [databases used]); raises InputError when neither direction is present.
  """
  pairs, used = set(), []
  forward = dictd_paths(dictd_dir, src, tgt)
  if forward:
    pairs |= extract_pairs(forward)
    used.append(os.path.basename(forward)[:-len(".index")])
  backward = dictd_paths(dictd_dir, tgt, src)
  if backward:
    pairs |= extract_pairs(backward, reverse=True)
    used.append(os.path.basename(backward)[:-len(".index")])
  if not used:
    raise InputError(f"{dictd_dir}: no freedict-{ISO3.get(src, src)}-{ISO3.get(tgt, tgt)} "
                     f"or freedict-{ISO3.get(tgt, tgt)}-{ISO3.get(src, src)} .index found")
  return pairs, used


def extract_pairs_to_files(dictd_dir, out_dir, pairs):
  """Writes OUT_DIR/SRC-TGT.txt for each `SRC-TGT` of `pairs`, from the dictd files in
  `dictd_dir`; prints one summary line per pair."""
  for pair in pairs:
    src, tgt = pair.split("-")
    extracted, used = extract_pair(dictd_dir, src, tgt)
    out = os.path.join(out_dir, f"{src}-{tgt}.txt")
    write_pairs(out, sorted(extracted))
    print(f"{out}: {len(extracted)} pairs, {len({s for s, _ in extracted})} {src} words "
          f"from {' + '.join(used)}")
