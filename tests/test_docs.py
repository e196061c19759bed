"""The README and docs/: the generated flag reference is current, links resolve, the front page
stays short and keeps the set-up commands CI runs."""

import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
PAGES = [README] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
# Pages that link into README and docs/ (and are linked from them).
LINKED = PAGES + [os.path.join(ROOT, "experiments", "REPRODUCTION.md"),
                  os.path.join(ROOT, "benchmarks", "RESULTS.md")]

LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def _read(path):
  with open(path, encoding="utf-8") as f:
    return f.read()


def _prose_lines(text):
  """The lines outside fenced code blocks."""
  fenced = False
  for line in text.splitlines():
    if line.lstrip().startswith("```"):
      fenced = not fenced
      continue
    if not fenced:
      yield line


def _slug(heading):
  """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
  text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
  return text.replace(" ", "-")


def _anchors(path):
  seen, out = {}, set()
  for line in _prose_lines(_read(path)):
    m = HEADING.match(line)
    if m:
      slug = _slug(m.group(2))
      n = seen.get(slug, 0)
      seen[slug] = n + 1
      out.add(slug if n == 0 else f"{slug}-{n}")
  return out


def _fenced_blocks(text):
  blocks, block = [], None
  for line in text.splitlines():
    if line.lstrip().startswith("```"):
      if block is None:
        block = []
      else:
        blocks.append(block)
        block = None
    elif block is not None:
      block.append(line)
  return blocks


def test_flag_reference_is_generated_from_the_current_flags():
  # A fresh process: the flags registered are exactly those `clweadv.main` imports.
  result = subprocess.run([sys.executable, os.path.join(ROOT, "docs", "make_flags.py"), "--check"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
  assert result.returncode == 0, result.stderr + result.stdout


def test_readme_is_short():
  """A front page: what, one results table, set-up, one first run, links (docs/ holds the rest)."""
  assert len(_read(README).splitlines()) <= 100


def test_relative_links_point_to_existing_files_and_headings():
  bad = []
  for page in LINKED:
    for line in _prose_lines(_read(page)):
      for text, target in LINK.findall(line):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
          continue
        path, _, anchor = target.partition("#")
        resolved = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
        where = f"{os.path.relpath(page, ROOT)}: {target}"
        if not os.path.exists(resolved):
          bad.append(f"{where} (no such file)")
        elif (text.strip("`").endswith(".md") and path
              and os.path.basename(text.strip("`")) != os.path.basename(path)):
          bad.append(f"{where} (the link says {text}: another page)")
        elif anchor and resolved.endswith(".md") and anchor not in _anchors(resolved):
          bad.append(f"{where} (no such heading)")
  assert not bad, "\n".join(bad)


def _cells(row):
  """The cells of a Markdown table row; `|` inside backticks does not split."""
  return len(re.split(r"(?<!\\)\|", re.sub(r"`[^`]*`", "``", row.strip()).strip("|")))


def test_every_table_row_has_as_many_cells_as_its_header():
  """A row with a cell too many or too few renders shifted: its figures fall under the wrong
  column (or off the table)."""
  bad = []
  for page in LINKED:
    header = None
    for n, line in enumerate(_read(page).splitlines(), 1):
      if not line.lstrip().startswith("|"):
        header = None
      elif header is None:
        header = _cells(line)
      elif _cells(line) != header:
        bad.append(f"{os.path.relpath(page, ROOT)}:{n}: {_cells(line)} cells, "
                   f"the header {header}")
  assert not bad, "\n".join(bad)


def test_flagfiles_named_in_the_docs_exist():
  names = set()
  for page in PAGES:
    names.update(re.findall(r"experiments/\w+\.flags", _read(page)))
  assert names
  missing = sorted(n for n in names if not os.path.isfile(os.path.join(ROOT, n)))
  assert not missing, missing


def test_setup_is_the_two_commands_ci_runs():
  text = _read(README)
  section = text.split("## Set-up", 1)[1].split("\n## ", 1)[0]
  commands = [line.strip() for line in _fenced_blocks(section)[0] if line.strip()]
  assert commands == ['pip install -e ".[test]"', "python -m pytest -q"]
  assert "python -m pytest -q -m slow" in section
  ci = os.path.join(ROOT, ".ci", "run")
  if os.path.isfile(ci):
    assert "python -m pytest -q" in _read(ci).splitlines()


def test_first_run_is_the_pretrained_dictionary_free_experiment():
  runs = re.findall(r"python -m clweadv\.main [^\n]*", _read(README))
  assert runs[0].strip() == (
      "python -m clweadv.main --flagfile=experiments/en_fr_pretrained_unsup.flags")


def test_the_readme_first_run_maps_the_shipped_slices(tmp_path):
  """The README's first `clweadv.main` command, word for word, on the shipped GloVe and fastText
  slices instead of the prepared pair (no download): it finishes, translates, judges itself a
  success, and says where its results are. Its dependencies come with the set-up commands."""
  import json  # pylint: disable=g-import-not-at-top
  import shlex  # pylint: disable=g-import-not-at-top
  import pyarrow  # pylint: disable=g-import-not-at-top,unused-import
  import msgpack  # pylint: disable=g-import-not-at-top,unused-import
  sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
  from conftest import EN_FR_DICT, EN_GLOVE, FR_FASTTEXT  # pylint: disable=g-import-not-at-top
  command = shlex.split(re.findall(r"python -m clweadv\.main [^\n]*", _read(README))[0])
  slices = [f"--src_emb={EN_GLOVE}", f"--tgt_emb={FR_FASTTEXT}", f"--test_dictionary={EN_FR_DICT}",
            "--refine_vocab=3000", "--criterion_vocab=3000", "--export_vocab=100",
            f"--workdir={tmp_path}"]
  proc = subprocess.run([sys.executable] + command[1:] + slices, capture_output=True, text=True,
                        cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), timeout=900)
  assert proc.returncode == 0, proc.stderr[-3000:]
  results = json.load(open(tmp_path / "results.json"))
  assert results["bli"]["csls"]["p@1"] > 20, results["bli"]
  assert results["success"] is True and results["model"] == "none", results
  assert f"results in {tmp_path / 'results.json'}" in proc.stderr.splitlines()[-1]
  assert proc.stderr.splitlines()[0] == f"work dir: {tmp_path}"


def test_the_python_example_maps_evaluates_and_translates():
  code = re.search(r"```python\n(.*?)```", _read(os.path.join(ROOT, "docs", "python.md")),
                   re.S).group(1)
  proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                        env=dict(os.environ, PYTHONPATH=ROOT), timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  p1 = float(re.search(r"CSLS P@1 ([\d.]+)", proc.stdout).group(1))
  assert p1 > 20, proc.stdout
  assert re.search(r"^water -> .*\beau\b", proc.stdout, re.M), proc.stdout
