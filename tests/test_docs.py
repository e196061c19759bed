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

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
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
  assert len(_read(README).splitlines()) <= 160


def test_relative_links_point_to_existing_files_and_headings():
  bad = []
  for page in LINKED:
    for line in _prose_lines(_read(page)):
      for target in LINK.findall(line):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
          continue
        path, _, anchor = target.partition("#")
        resolved = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
        where = f"{os.path.relpath(page, ROOT)}: {target}"
        if not os.path.exists(resolved):
          bad.append(f"{where} (no such file)")
        elif anchor and resolved.endswith(".md") and anchor not in _anchors(resolved):
          bad.append(f"{where} (no such heading)")
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
