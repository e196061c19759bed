"""Monolingual corpora from Debian packages, cleaned, with no parallel text between languages.

Each language's corpus is built from a list of sources (Debian packages fetched with
`apt-get download` + `dpkg-deb -x`, and apt's translated package descriptions). Every paragraph
is lowercased and tokenised to letters-only words, written one paragraph per line; exact
duplicates and paragraphs in the wrong language (language-exclusive stop-word counts) are dropped.

No parallel text: a source that exists in translation (package descriptions, manual pages, help
manuals) yields items with a key shared by all its translations (the description's md5, the
help file's path with the language removed). English keeps only items whose key hashes to an
even number, every other language only odd ones, so the same item never appears on both sides.
A Bible is used on the English side only.
"""

import contextlib
import dataclasses
import glob
import gzip
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zlib

from clweadv.errors import InputError
from clweadv.fileio import atomic_open, write_json
from clweadv.progress import Progress

LANGS = ("en", "fr", "it", "de", "es")

# ---------------------------------------------------------------------------------------------
# Tokenising and the language filter.

_WORD = re.compile(r"[^\W\d_]+")

_STOP = {
    "en": "the and of to is that with for this are be by from which you or have not was were "
          "will can on an at as all they their there what when would been has but these its "
          "into if than more only other some such them then also how about",
    "fr": "le la les des du est et une un dans pour pas que qui sur avec ce cette sont au aux "
          "par plus ou mais vous nous il elle ils être fait leur comme tout ses son sa été "
          "peut même",
    "it": "il lo gli della delle degli del dei che è per una uno con sono non nel nella alla "
          "anche come più questo questa essere ha ma dalla da si le di ed",
    "de": "der die das und ist nicht mit ein eine den dem des zu von auf für sich auch es im "
          "werden wird sind oder bei wenn kann nur wie noch aus einer eines",
    "es": "el los las del que es en una un por con para se no su al lo como más pero sus "
          "está este esta son ser ha y la de",
}


def _exclusive_stopwords():
  sets = {lang: set(words.split()) for lang, words in _STOP.items()}
  out = {}
  for lang, words in sets.items():
    others = set().union(*(s for l, s in sets.items() if l != lang))
    out[lang] = words - others
  return out


STOPWORDS = _exclusive_stopwords()


def tokenize(text):
  """Lowercase letters-only words of `text` (digits, punctuation and `_` separate words)."""
  return _WORD.findall(text.lower())


def is_language(tokens, lang):
  """True if `tokens` contain more of `lang`'s exclusive stop words than of any other language."""
  own = sum(1 for t in tokens if t in STOPWORDS[lang])
  if own == 0:
    return False
  for other, words in STOPWORDS.items():
    if other != lang and sum(1 for t in tokens if t in words) >= own:
      return False
  return True


def keep_side(key, lang):
  """Parity split of a translated item: English keeps even hashes, other languages odd ones."""
  h = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()[0] & 1
  return h == (0 if lang == "en" else 1)


# ---------------------------------------------------------------------------------------------
# Text extraction from the packages' formats. Each reader yields (key, paragraph); key is None
# for sources with no translation elsewhere, else the language-independent name of the item.

_DROP_BLOCKS = re.compile(r"<(script|style|pre|head)\b.*?</\1\s*>", re.S | re.I)
_BLOCK_TAG = re.compile(r"</?(?:p|div|li|h[1-6]|br|tr|td|th|dt|dd|table|ul|ol|title|blockquote|"
                        r"section|article|caption|figcaption|paragraph|help:paragraph)\b[^>]*>",
                        re.I)
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")


def html_paragraphs(text):
  text = _DROP_BLOCKS.sub(" ", text)
  text = _BLOCK_TAG.sub("\x00", text)
  text = html.unescape(_TAG.sub(" ", text))
  for para in text.split("\x00"):
    para = _SPACES.sub(" ", para).strip()
    if para:
      yield para


def _read_text(path):
  opener = gzip.open if path.endswith(".gz") else open
  with opener(path, "rb") as f:
    return f.read().decode("utf-8", errors="replace")


_GROFF_ESC = re.compile(r"\\f(?:\[[^\]]*\]|\(..|.)|\\\(..|\\\*(?:\(..|\[[^\]]*\]|.)|"
                        r"\\s[-+]?\d+|\\[&|^%:,/]|\\\[[^\]]*\]")
_TEXT_MACROS = {"B", "I", "BR", "IR", "RB", "BI", "IB", "RI", "SM", "SB"}


def groff_paragraphs(text):
  """Paragraphs of a man page: text lines and font macros' arguments, escapes removed."""
  para = []
  for line in text.split("\n"):
    if line.startswith(".") or line.startswith("'"):
      macro = line[1:].split(" ", 1)
      name = macro[0].strip()
      if name in _TEXT_MACROS and len(macro) > 1:
        para.append(macro[1].replace('"', ""))
        continue
      if para:
        yield " ".join(para)
      para = []
      continue
    if not line.strip():
      if para:
        yield " ".join(para)
      para = []
      continue
    para.append(line)
  if para:
    yield " ".join(para)


def clean_groff(para):
  return _GROFF_ESC.sub("", para).replace("\\-", "-").replace("\\e", "\\")


def read_html_files(paths, key_fn):
  for path in paths:
    key = key_fn(path) if key_fn else None
    for para in html_paragraphs(_read_text(path)):
      yield key, para


def read_manpages(root, lang):
  base = os.path.join(root, "usr/share/man", "" if lang == "en" else lang)
  for path in sorted(glob.glob(os.path.join(base, "man*", "*"))):
    if not os.path.isfile(path):
      continue
    key = "man:" + os.path.relpath(path, base).removesuffix(".gz")
    for para in groff_paragraphs(_read_text(path)):
      yield key, clean_groff(para)


def read_fortunes(paths):
  for path in paths:
    if path.endswith(".dat") or path.endswith(".u8") or not os.path.isfile(path):
      continue
    for item in re.split(r"\n%\n", _read_text(path)):
      yield None, " ".join(item.split())


def read_dictd_text(index_path):
  """Every entry of a dictd database as paragraphs (blank-line separated, `[...]` dropped)."""
  from clweadv.data import freedict
  data_path = index_path[:-len(".index")] + ".dict.dz"
  data = freedict.read_dict_data(data_path).decode("utf-8", errors="replace")
  done = set()
  for _, offset, length in freedict.read_index(index_path):
    if offset in done:
      continue  # A second headword pointing at an entry already read.
    done.add(offset)
    text = re.sub(r"\[[^\]]*\]", " ", data[offset:offset + length])
    for para in re.split(r"\n\s*\n", text):
      yield None, " ".join(para.split())


def read_wordnet(root):
  for part in ("noun", "verb", "adj", "adv"):
    path = os.path.join(root, "usr/share/wordnet", "data." + part)
    with open(path, encoding="utf-8", errors="replace") as f:
      for line in f:
        if line.startswith("  "):
          continue  # Licence header.
        _, _, gloss = line.partition(" | ")
        if gloss:
          yield None, gloss.strip()


def read_littre(root):
  path = os.path.join(root, "usr/share/stardict/dic/XMLittre.dict.dz")
  with gzip.open(path, "rb") as f:
    text = f.read().decode("utf-8", errors="replace")
  text = html.unescape(_TAG.sub(" ", text))
  for para in text.split("\n"):
    yield None, para


def read_sword_ztext(module_dir):
  """Verses of a SWORD zText module (zlib blocks; `.bzs` block index, `.bzv` verse index)."""
  import struct
  for testament in ("ot", "nt"):
    bzs = os.path.join(module_dir, testament + ".bzs")
    if not os.path.isfile(bzs):
      continue
    with open(bzs, "rb") as f:
      blocks = list(struct.iter_unpack("<III", f.read()))
    with open(os.path.join(module_dir, testament + ".bzz"), "rb") as f:
      zdata = f.read()
    cache = {}
    with open(os.path.join(module_dir, testament + ".bzv"), "rb") as f:
      verses = list(struct.iter_unpack("<IIH", f.read()))
    for block, offset, size in verses:
      if size == 0 or block >= len(blocks):
        continue
      if block not in cache:
        cache.clear()
        start, csize, _ = blocks[block]
        cache[block] = zlib.decompress(zdata[start:start + csize])
      raw = cache[block][offset:offset + size].decode("utf-8", errors="replace")
      yield None, html.unescape(_TAG.sub(" ", raw))


def read_stanzas(lines_iter):
  """Stanzas of an apt index (deb822: `Field: value`, continuation lines indented, a blank line
  between stanzas) as dicts; a multi-line value keeps its lines, joined by newlines, with the
  first character (the indent) of each continuation line removed."""
  stanza, field = {}, None
  for line in lines_iter:
    line = line.rstrip("\n")
    if not line:  # A line of spaces continues the value (apt's translations have some).
      if stanza:
        yield stanza
      stanza, field = {}, None
    elif line[0] in " \t":
      if field is not None:
        stanza[field] += "\n" + line[1:]
    else:
      field, _, value = line.partition(":")
      stanza[field] = value.strip()
  if stanza:
    yield stanza


def description_paragraphs(value):
  """Paragraphs of a `Description` value: the short description starts the first one, a `.`
  line separates them, lines are stripped and joined by spaces."""
  first, *rest = value.split("\n")
  para = [first]
  for line in rest:
    if line.strip() == ".":
      if para:
        yield " ".join(para)
      para = []
    else:
      para.append(line.strip())
  if para:
    yield " ".join(para)


def read_descriptions(lines_iter, lang):
  """Package descriptions of apt's Translation-LANG index, keyed by `Description-md5`."""
  field = "Description-" + lang
  for stanza in read_stanzas(lines_iter):
    if field in stanza:
      md5 = stanza.get("Description-md5")
      for para in description_paragraphs(stanza[field]):
        yield ("desc:" + md5 if md5 is not None else None), para


# ---------------------------------------------------------------------------------------------
# The sources of each language.

@dataclasses.dataclass
class Source:
  name: str
  packages: tuple      # Debian packages to download and extract ("" = apt's i18n index)
  read: object         # fn(roots: dict package -> extracted dir, lang) -> iterator of (key, para)
  translated: bool     # parity split applies


_LO = {"en": "en-us", "fr": "fr", "it": "it", "de": "de", "es": "es"}
_LILY_SUFFIX = re.compile(r"\.(fr|it|de|es|ja|nl|hu|zh|ca|cs|pt)\.html$")
_LANG_IN_NAME = re.compile(r"[._-](en|fr|it|de|es)(?=[._-]|$)")


def _help_key(rel):
  """A help file's path with its language marks removed: the same for all its translations."""
  rel = rel.replace(os.sep, "/")
  rel = _LILY_SUFFIX.sub(".html", rel)
  rel = re.sub(r"-(bookworm|bullseye|buster)-", "-", rel)
  return _LANG_IN_NAME.sub("", rel)


def _read_help(lang):
  def read(roots, _lang):
    lo = roots[f"libreoffice-help-{_LO[lang]}"]
    base = os.path.join(lo, "usr/share/libreoffice/help", "en-US" if lang == "en" else lang)
    paths = sorted(glob.glob(os.path.join(base, "text", "**", "*.html"), recursive=True))
    yield from read_html_files(paths, lambda p: "lo:" + _help_key(os.path.relpath(p, base)))
    gimp = roots[f"gimp-help-{lang}"]
    bases = glob.glob(os.path.join(gimp, "usr/share/gimp/*/help", lang))
    for base in bases:
      paths = sorted(glob.glob(os.path.join(base, "**", "*.html"), recursive=True))
      yield from read_html_files(paths, lambda p: "gimp:" + _help_key(os.path.relpath(p, base)))
    lily = roots["lilypond-doc-html" + ("" if lang == "en" else "-" + lang)]
    base = os.path.join(lily, "usr/share/doc/lilypond/html")
    paths = sorted(glob.glob(os.path.join(base, "**", "*.html"), recursive=True))
    if lang == "en":
      paths = [p for p in paths if not _LILY_SUFFIX.search(p)]
    else:
      paths = [p for p in paths if p.endswith(f".{lang}.html")]
    yield from read_html_files(paths, lambda p: "lily:" + _help_key(os.path.relpath(p, base)))
    ref = roots[f"debian-reference-{lang}"]
    paths = sorted(glob.glob(os.path.join(ref, "usr/share/debian-reference", f"*.{lang}.html")))
    yield from read_html_files(paths, lambda p: "ref:" + _help_key(os.path.basename(p)))
    edu = roots[f"debian-edu-doc-{lang}"]
    paths = sorted(glob.glob(os.path.join(edu, f"usr/share/doc/debian-edu-doc-{lang}",
                                          "*manual*.html")))
    yield from read_html_files(paths, lambda p: "edu:" + _help_key(os.path.basename(p)))
  return read


def _help_packages(lang):
  return (f"libreoffice-help-{_LO[lang]}", f"gimp-help-{lang}",
          "lilypond-doc-html" + ("" if lang == "en" else "-" + lang),
          f"debian-reference-{lang}", f"debian-edu-doc-{lang}")


_DASHER = {"fr": "training_french_FR.txt", "it": "training_italian_IT.txt",
           "de": "training_german_DE.txt", "es": "training_spanish_ES.txt"}


def _read_dasher(lang):
  def read(roots, _lang):
    path = os.path.join(roots["dasher-data"], "usr/share/dasher", _DASHER[lang])
    for line in _read_text(path).split("\n"):
      yield None, line
  return read


def _read_fortunes(pkgs, sub):
  def read(roots, _lang):
    for pkg in pkgs:
      paths = sorted(glob.glob(os.path.join(roots[pkg], "usr/share/games/fortunes", sub, "*")))
      yield from read_fortunes(paths)
  return read


def sources(lang):
  """The corpus sources of `lang`, in the order they are read."""
  if lang not in LANGS:
    raise InputError(f"no corpus sources for language {lang!r} (have: {', '.join(LANGS)})")
  out = [Source("descriptions", ("",), None, True),
         Source("manpages", ("manpages" + ("" if lang == "en" else "-" + lang),),
                lambda roots, l: read_manpages(next(iter(roots.values())), l), True),
         Source("help", _help_packages(lang), _read_help(lang), True)]
  if lang == "en":
    out += [
        Source("gcide", ("dict-gcide",), lambda roots, l: read_dictd_text(
            os.path.join(roots["dict-gcide"], "usr/share/dictd/gcide.index")), False),
        Source("wordnet", ("wordnet-base",), lambda roots, l: read_wordnet(roots["wordnet-base"]),
               False),
        Source("linux-doc", ("linux-doc-6.1",), lambda roots, l: read_html_files(
            sorted(glob.glob(os.path.join(roots["linux-doc-6.1"],
                                          "usr/share/doc/linux-doc-6.1/html/**/*.html"),
                             recursive=True)), None), False),
        Source("bible-web", ("sword-text-web",), lambda roots, l: read_sword_ztext(
            glob.glob(os.path.join(roots["sword-text-web"],
                                   "usr/share/sword/modules/texts/ztext/*"))[0]), False),
        Source("fortunes", ("fortunes", "fortunes-min"),
               _read_fortunes(("fortunes", "fortunes-min"), ""), False),
    ]
  else:
    out.append(Source("dasher", ("dasher-data",), _read_dasher(lang), False))
  if lang == "fr":
    out.append(Source("littre", ("stardict-xmlittre",),
                      lambda roots, l: read_littre(roots["stardict-xmlittre"]), False))
  if lang in ("it", "de", "es"):
    out.append(Source("fortunes", (f"fortunes-{lang}",),
                      _read_fortunes((f"fortunes-{lang}",), lang), False))
  return out


# ---------------------------------------------------------------------------------------------
# Fetching.

def _log(msg):
  print(msg, file=sys.stderr, flush=True)


def fetch_package(package, cache_dir):
  """Downloads and extracts a Debian package into `cache_dir/pkgs/PACKAGE` (once); returns it.

  Extraction goes to a temporary folder renamed at the end, so an interrupted fetch never
  looks complete.
  """
  dest = os.path.join(cache_dir, "pkgs", package)
  if os.path.isdir(dest):
    return dest
  os.makedirs(os.path.join(cache_dir, "pkgs"), exist_ok=True)
  _log(f"  apt-get download {package} + dpkg-deb -x")
  tmp = tempfile.mkdtemp(prefix=f".{package}.", dir=os.path.join(cache_dir, "pkgs"))
  try:
    try:
      result = subprocess.run(["apt-get", "download", package], cwd=tmp,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    except FileNotFoundError:
      raise InputError(f"could not fetch Debian package {package}: apt-get is not installed; "
                       f"download {package}_*.deb elsewhere and extract it with "
                       f"`dpkg-deb -x {package}_*.deb {dest}`")
    debs = glob.glob(os.path.join(tmp, "*.deb"))
    if result.returncode != 0 or not debs:
      last = (result.stdout.strip().splitlines() or ["no output"])[-1]
      raise InputError(f"could not fetch Debian package {package} ({last}); run "
                       f"`apt-get update` first, or download it elsewhere and extract it with "
                       f"`dpkg-deb -x {package}_*.deb {dest}`")
    root = os.path.join(tmp, "root")
    try:
      subprocess.run(["dpkg-deb", "-x", debs[0], root], check=True, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)
    except (FileNotFoundError, subprocess.CalledProcessError) as e:
      raise InputError(f"could not extract {os.path.basename(debs[0])} with dpkg-deb ({e})")
    os.replace(root, dest)
  finally:
    shutil.rmtree(tmp, ignore_errors=True)
  return dest


def _fetch_apt_index(out, *, what, languages, pattern, write):
  """`apt-get update` into a private lists dir; `write(f, texts)` fills `out` (atomically) from
  the decompressed index files whose names match `pattern`. Returns `out`; runs only once."""
  if os.path.isfile(out):
    return out
  work = tempfile.mkdtemp(prefix=".apt-update.", dir=_mkdir(os.path.dirname(out)))
  _log(f"  apt-get update (Acquire::Languages={languages}) for {what}")
  try:
    lists = os.path.join(work, "lists")
    os.makedirs(os.path.join(lists, "partial"))
    os.makedirs(os.path.join(work, "cache", "archives", "partial"))
    cmd = ["apt-get", "update", "-o", f"Dir::State::Lists={lists}", "-o",
           f"Dir::Cache={os.path.join(work, 'cache')}", "-o", f"Acquire::Languages={languages}"]
    try:
      result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    except FileNotFoundError:
      raise InputError(f"could not fetch {what}: apt-get is not installed")
    files = sorted(glob.glob(os.path.join(lists, pattern)))
    if result.returncode != 0 or not files:
      last = (result.stdout.strip().splitlines() or ["no output"])[-1]
      raise InputError(f"could not fetch {what} ({last}); check that "
                       f"`{' '.join(cmd[:2])}` works on this machine")
    texts = (subprocess.run(["/usr/lib/apt/apt-helper", "cat-file", path], check=True,
                            stdout=subprocess.PIPE).stdout.decode("utf-8", errors="replace")
             for path in files)
    with atomic_open(out) as f:
      write(f, texts)
  finally:
    shutil.rmtree(work, ignore_errors=True)
  return out


def fetch_descriptions(lang, cache_dir):
  """apt's Translation-LANG index, fetched into a private lists dir; returns the text file."""
  def write(f, texts):
    for text in texts:
      f.write(text)
      if not text.endswith("\n\n"):
        f.write("\n")
  return _fetch_apt_index(os.path.join(cache_dir, "i18n", f"Translation-{lang}.txt"),
                          what=f"apt's Translation-{lang} index", languages=lang,
                          pattern=f"*_i18n_Translation-{lang}*", write=write)


SECTION_FIELDS = ("Package", "Source", "Section", "Description-md5")


def fetch_sections(cache_dir):
  """apt's `Packages` indexes reduced to `SECTION_FIELDS`, in the same stanza format, one stanza
  per package (the first met: a package keeps its section across a release and its updates);
  returns the text file `cache_dir/index/Packages.txt`."""
  def write(f, texts):
    seen = set()
    for text in texts:
      for stanza in read_stanzas(text.split("\n")):
        name = stanza.get("Package")
        if name is None or name in seen:
          continue
        seen.add(name)
        f.write("".join(f"{k}: {stanza[k]}\n" for k in SECTION_FIELDS if k in stanza) + "\n")
  return _fetch_apt_index(os.path.join(cache_dir, "index", "Packages.txt"),
                          what="apt's Packages index (package sections)", languages="none",
                          pattern="*_binary-*_Packages*", write=write)


def _mkdir(path):
  os.makedirs(path, exist_ok=True)
  return path


# ---------------------------------------------------------------------------------------------
# Building.

def clean_items(items, *, lang, translated, seen, stats, min_tokens=3):
  """Yields cleaned lines (space-joined tokens) of (key, paragraph) items of one source.

  `seen` (a set of paragraph hashes shared by all sources of the language) drops exact
  duplicates; `stats` (dict) receives the counts.
  """
  for key, para in items:
    stats["items"] = stats.get("items", 0) + 1
    if translated:
      if key is None or not keep_side(key, lang):
        stats["other_side"] = stats.get("other_side", 0) + 1
        continue
    tokens = tokenize(para)
    if len(tokens) < min_tokens:
      stats["short"] = stats.get("short", 0) + 1
      continue
    if not is_language(tokens, lang):
      stats["wrong_language"] = stats.get("wrong_language", 0) + 1
      continue
    line = " ".join(tokens)
    h = hashlib.blake2b(line.encode("utf-8"), digest_size=8).digest()
    if h in seen:
      stats["duplicate"] = stats.get("duplicate", 0) + 1
      continue
    seen.add(h)
    stats["paragraphs"] = stats.get("paragraphs", 0) + 1
    stats["tokens"] = stats.get("tokens", 0) + len(tokens)
    yield line


def build_corpus(lang, cache_dir, *, out_path=None):
  """Builds (once) `cache_dir/corpora/LANG.txt` and its `.json` stats; returns (path, stats)."""
  out_path = out_path or os.path.join(cache_dir, "corpora", f"{lang}.txt")
  stats_path = out_path[:-len(".txt")] + ".json"
  if os.path.isfile(out_path) and os.path.isfile(stats_path):
    with open(stats_path, encoding="utf-8") as f:
      return out_path, json.load(f)
  deb_dir = os.path.join(cache_dir, "debian")
  srcs = sources(lang)
  t0, cpu0 = time.time(), time.process_time()
  all_stats, seen = {}, set()
  with atomic_open(out_path) as out:
    for k, src in enumerate(srcs):
      t = time.time()
      label = f"prepare {lang}: corpus, source {k + 1} of {len(srcs)} ({src.name})"
      bar, st, n = Progress(f"{label}, paragraphs"), {}, 0
      with contextlib.ExitStack() as stack:
        if src.read is None:
          path = fetch_descriptions(lang, deb_dir)
          items = read_descriptions(stack.enter_context(open(path, encoding="utf-8")), lang)
        else:
          roots = {p: fetch_package(p, deb_dir) for p in src.packages}
          items = src.read(roots, lang)
        for line in clean_items(items, lang=lang, translated=src.translated, seen=seen,
                                stats=st):
          out.write(line + "\n")
          n += 1
          if n % 20000 == 0:
            bar(n, None, f"{st.get('tokens', 0) / 1e6:.1f}M tokens")
      st["seconds"] = round(time.time() - t, 1)
      all_stats[src.name] = st
      bar.close()
      print(f"{label}: {st.get('tokens', 0) / 1e6:.2f}M tokens, {st.get('paragraphs', 0)} "
            f"paragraphs ({st['seconds']} s)", file=sys.stderr, flush=True)
  stats = {"lang": lang, "tokens": sum(s.get("tokens", 0) for s in all_stats.values()),
           "paragraphs": sum(s.get("paragraphs", 0) for s in all_stats.values()),
           "seconds": round(time.time() - t0, 1),
           "cpu_seconds": round(time.process_time() - cpu0, 1), "sources": all_stats}
  write_json(stats_path, stats)
  return out_path, stats
