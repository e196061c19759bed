"""Every clweadv module imports in one process (library use from a script or a notebook), and
every command line answers --help with exit code 0."""

import os
import pkgutil
import subprocess
import sys

import pytest

import clweadv
from conftest import ROOT

MODULES = sorted(f"clweadv.{m.name}" for m in pkgutil.iter_modules(clweadv.__path__))
COMMANDS = ["clweadv.main", "clweadv.prepare", "clweadv.evaluate", "clweadv.translate",
            "clweadv.report", "clweadv.doc_classification", "clweadv.freedict"]


def test_all_modules_import_together():
  assert {"clweadv.config", "clweadv.evaluate", "clweadv.translate"} <= set(MODULES)
  code = "import importlib\n" + "".join(f"importlib.import_module({m!r})\n" for m in MODULES)
  proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                        env=dict(os.environ, PYTHONPATH=ROOT), timeout=300)
  assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_exits_zero(command):
  proc = subprocess.run([sys.executable, "-m", command, "--helpshort"], capture_output=True,
                        text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), timeout=300)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert "flags" in (proc.stdout + proc.stderr).lower()
