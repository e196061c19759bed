r"""The ladder's real data: same-language corpus halves and their word2vec vectors.

Every rung of `bench_ladder.py` above the rotations needs two embedding spaces trained on
*different* text of the same language, so that the gold dictionary is the identity and the only
question is whether structure alone aligns them. They come from the English corpus that
`clweadv.prepare` builds from Debian packages (`DATA_DIR/corpora/en.txt`, one paragraph per line):

- halves: each paragraph goes to side 0 or 1 by the parity of its md5 (disjoint random halves);
- size: each half cut to its first N tokens in md5 order (a fixed random subsample);
- domain: side 0 = dictionaries and glossaries (gcide, wordnet), side 1 = manuals and package
  descriptions (manpages, help, linux-doc, descriptions); both cut to the same token count.

  python benchmarks/ladder_data.py --dims=100,300 \
      --sizes=125000,250000,500000,1000000,2000000,4000000

Everything is cached under `DATA_DIR/ladder/` (atomic writes; a second call reuses it).
"""

import hashlib
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from absl import app, flags  # pylint: disable=g-import-not-at-top

from clweadv.data import corpora  # pylint: disable=g-import-not-at-top
from clweadv.fileio import atomic_open, write_json  # pylint: disable=g-import-not-at-top
from clweadv.data.prepare import default_data_dir  # pylint: disable=g-import-not-at-top

DICTIONARIES = ("gcide", "wordnet")
MANUALS = ("manpages", "help", "linux-doc", "descriptions")


def log(msg):
  print(msg, file=sys.stderr, flush=True)


def _md5(line):
  return hashlib.md5(line.encode("utf-8")).digest()


def _lines_with_sources(corpus_path, stats):
  """(source name, paragraph) for each line: the corpus is written source after source, and its
  statistics give each source's paragraph count, in order."""
  names = list(stats["sources"])
  counts = [stats["sources"][n].get("paragraphs", 0) for n in names]
  with open(corpus_path, encoding="utf-8") as f:
    for name, count in zip(names, counts):
      for _ in range(count):
        yield name, next(f).rstrip("\n")


def _write_side(path, lines, max_tokens):
  """Writes lines in md5 order until `max_tokens` (0: all); returns the tokens written."""
  tokens = 0
  with atomic_open(path) as out:
    for line in sorted(lines, key=_md5):
      n = len(line.split())
      if max_tokens and tokens + n > max_tokens:
        break
      out.write(line + "\n")
      tokens += n
  return tokens


def build_sides(data_dir, *, split, max_tokens=0):
  """Writes the two sides of a split ('halves' or 'domain'); returns their paths."""
  out_dir = os.path.join(data_dir, "ladder")
  os.makedirs(out_dir, exist_ok=True)
  tag = f"{split}" + (f".{max_tokens}" if max_tokens else "")
  paths = [os.path.join(out_dir, f"en.{tag}.side{i}.txt") for i in (0, 1)]
  stats_path = os.path.join(out_dir, f"en.{tag}.json")
  if all(os.path.isfile(p) for p in paths + [stats_path]):
    return paths
  corpus_path, stats = corpora.build_corpus("en", os.path.abspath(data_dir))
  sides = ([], [])
  for name, line in _lines_with_sources(corpus_path, stats):
    if split == "halves":
      sides[_md5(line)[0] & 1].append(line)
    elif name in DICTIONARIES:
      sides[0].append(line)
    elif name in MANUALS:
      sides[1].append(line)
  if split == "domain" and not max_tokens:  # Both sides the size of the smaller one.
    max_tokens = min(sum(len(l.split()) for l in s) for s in sides)
  tokens = [_write_side(p, s, max_tokens) for p, s in zip(paths, sides)]
  write_json(stats_path, {"split": split, "max_tokens": max_tokens, "tokens": tokens})
  log(f"ladder {tag}: {tokens[0] / 1e6:.2f}M / {tokens[1] / 1e6:.2f}M tokens")
  return paths


def side_embeddings(data_dir, *, split, dim, max_tokens=0, max_vocab=50000):
  """word2vec (the project's settings) on both sides of a split: [(vec, vocab), (vec, vocab)].

  Side i is trained with seed 1 + i: gensim draws a word's initial vector from a hash of the
  word and the seed, and with one seed a word would start from the same vector on both sides
  (the trained spaces were not aligned by it: the identity map gave CSLS P@1 0.5 on the d=100
  halves, supervised Procrustes 98.1; different seeds rule it out).
  """
  from clweadv.data.word2vec import train_word2vec  # pylint: disable=g-import-not-at-top
  out = []
  for i, corpus in enumerate(build_sides(data_dir, split=split, max_tokens=max_tokens)):
    stem = corpus[:-len(".txt")] + f".d{dim}.seed{1 + i}"
    vec, vocab, info = stem + ".vec", stem + ".vocab", stem + ".json"
    if not all(os.path.isfile(p) for p in (vec, vocab, info)):
      log(f"word2vec d={dim} on {corpus}")
      stats = train_word2vec(corpus, dim=dim, vec_path=vec, vocab_path=vocab,
                             max_vocab=max_vocab, seed=1 + i)
      write_json(info, stats)
    out.append((vec, vocab))
  return out


def main(argv):
  del argv
  data_dir = FLAGS.data_dir or default_data_dir()
  for dim in FLAGS.dims:
    side_embeddings(data_dir, split="halves", dim=int(dim))
  for size in FLAGS.sizes:
    side_embeddings(data_dir, split="halves", dim=100, max_tokens=int(size))
  if FLAGS.domain:
    side_embeddings(data_dir, split="domain", dim=100)
  log(json.dumps(sorted(os.listdir(os.path.join(data_dir, "ladder")))))


def define_flags():
  """Flags of this script alone (`bench_ladder` imports the module and has its own)."""
  flags.DEFINE_string("data_dir", None, "Prepared data (default $CLWEADV_DATA or "
                      "~/.cache/clweadv).")
  flags.DEFINE_list("dims", ["100", "300"], "word2vec dimensions of the full halves.")
  flags.DEFINE_list("sizes", [], "Tokens per side of the subsampled halves (d=100).")
  flags.DEFINE_bool("domain", False, "Also build the different-domain sides (d=100).")


FLAGS = flags.FLAGS

if __name__ == "__main__":
  define_flags()
  app.run(main)
