"""The corpus builder: tokenising, the language filter, and no parallel text between sides."""

import os

from clweadv.data import corpora

ROOT = os.path.join(os.path.dirname(__file__), "..", "third_party", "debian_descriptions")


def _descriptions(lang):
  with open(os.path.join(ROOT, f"Translation-{lang}.excerpt"), encoding="utf-8") as f:
    return list(corpora.read_descriptions(f, lang))


def test_tokenize():
  assert corpora.tokenize("L'Éditeur a 3 fichiers_tmp, ça-va!") == [
      "l", "éditeur", "a", "fichiers", "tmp", "ça", "va"]


def test_language_filter():
  assert corpora.is_language(corpora.tokenize("This package contains the files of the game"),
                             "en")
  it = corpora.tokenize("Questo pacchetto contiene i file dei dati del gioco")
  assert corpora.is_language(it, "it") and not corpora.is_language(it, "en")
  assert not corpora.is_language(corpora.tokenize("GNU Emacs 28"), "en")


def test_parity_split_is_complementary():
  keys = [f"desc:{i:032x}" for i in range(200)]
  for key in keys:
    assert corpora.keep_side(key, "en") != corpora.keep_side(key, "it")
    assert corpora.keep_side(key, "it") == corpora.keep_side(key, "fr")
  assert 60 < sum(corpora.keep_side(k, "en") for k in keys) < 140


def test_descriptions_are_read_with_their_md5():
  en, it = _descriptions("en"), _descriptions("it")
  assert {k for k, _ in en} == {k for k, _ in it}       # the same 300 packages on both sides
  assert len({k for k, _ in en}) == 300
  paras = [p for k, p in it if k == "desc:d943033bedada21853d2ae54a2578a7b"]
  # The short description opens the first paragraph of the long one.
  assert paras[0].startswith("gioco di strategia in tempo reale di guerra antica 0 A.D.")
  assert paras[-1].endswith("potente e flessibile.")


def _clean(items, lang, seen=None):
  stats = {}
  kept = {}
  for key, para in items:
    for line in corpora.clean_items([(key, para)], lang=lang, translated=True,
                                    seen=set() if seen is None else seen, stats=stats):
      kept.setdefault(key, []).append(line)
  return kept, stats


def test_same_description_never_on_both_sides():
  en_kept, en_stats = _clean(_descriptions("en"), "en")
  it_kept, it_stats = _clean(_descriptions("it"), "it")
  assert en_kept and it_kept
  assert not set(en_kept) & set(it_kept)               # no item on both sides
  assert en_stats["other_side"] > 0 and it_stats["other_side"] > 0
  # Every item is on exactly one side (when its text survives cleaning).
  assert len(set(en_kept) | set(it_kept)) > 250


def test_duplicates_and_wrong_language_dropped():
  stats, seen = {}, set()
  items = [(None, "The cat sat on the mat with the dog."),
           (None, "The cat sat on the mat with the dog!"),
           (None, "Il gatto è sul tappeto con il cane."),
           (None, "ok")]
  lines = list(corpora.clean_items(items, lang="en", translated=False, seen=seen, stats=stats))
  assert lines == ["the cat sat on the mat with the dog"]
  assert stats["duplicate"] == 1 and stats["wrong_language"] == 1 and stats["short"] == 1


def test_html_and_groff_paragraphs():
  html = ("<html><head><title>x</title></head><body><p>Open the <b>file</b> &amp; save.</p>"
          "<pre>code here</pre><li>Second item</li></body></html>")
  assert list(corpora.html_paragraphs(html)) == ["Open the file & save.", "Second item"]
  man = ".TH LS 1\n.SH NAME\nls \\- list directory contents\n.PP\nList information about\n"
  man += ".B the\nFILEs.\n"
  paras = [corpora.clean_groff(p) for p in corpora.groff_paragraphs(man)]
  assert paras == ["ls - list directory contents", "List information about the FILEs."]


def test_help_keys_match_across_languages():
  assert corpora._help_key("Documentation/web/usage.it.html") == corpora._help_key(
      "Documentation/web/usage.html")
  assert corpora._help_key("debian-edu-bookworm-manual.html") == corpora._help_key(
      "debian-edu-bullseye-manual.html")
  assert corpora._help_key("ch01.fr.html") == corpora._help_key("ch01.en.html")
