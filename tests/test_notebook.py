"""`experiments/colab_tpu.ipynb` executed top to bottom on CPU (nbclient), on the real en-it
slices in third_party/ instead of the full `clweadv.prepare` data.

The parameters cell is kept and a cell after it overrides it (papermill's injected parameters):
DATA="slices" skips the Debian download, INSTALL=False skips `pip install -e .` (the test's
environment already has clweadv and its dependencies), and a few hundred steps.
"""

import json
import os
import sys

import nbformat
from nbclient import NotebookClient

from conftest import ROOT

NOTEBOOK = os.path.join(ROOT, "experiments", "colab_tpu.ipynb")
KERNEL = "clweadv-notebook-test"
STEPS = 300
PNGS = ["discriminators.png", "losses.png", "projection.png", "selection.png"]


def inject_parameters(nb, values):
  """Inserts a cell setting `values` right after the cell tagged "parameters"."""
  index = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
  assert len(index) == 1, "the notebook needs exactly one cell tagged 'parameters'"
  source = "\n".join(f"{name} = {value!r}" for name, value in values.items())
  cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
  nb.cells.insert(index[0] + 1, cell)
  return nb


def kernel_for_this_python(jupyter_dir):
  """A kernel spec running this interpreter's ipykernel: no installed spec is needed, and no
  other Python's `python3` spec can be picked up."""
  spec_dir = os.path.join(jupyter_dir, "kernels", KERNEL)
  os.makedirs(spec_dir)
  with open(os.path.join(spec_dir, "kernel.json"), "w", encoding="utf-8") as f:
    json.dump({"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
               "display_name": "clweadv test", "language": "python"}, f)


def test_colab_notebook_top_to_bottom(tmp_path, monkeypatch):
  jupyter_dir = str(tmp_path / "jupyter")
  kernel_for_this_python(jupyter_dir)
  monkeypatch.setenv("JUPYTER_PATH", jupyter_dir)
  monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
  monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))  # Nothing written to $HOME.
  monkeypatch.setenv("JAX_PLATFORMS", "cpu")
  monkeypatch.setenv("PYTHONPATH", ROOT)
  workdir = str(tmp_path / "run")
  nb = inject_parameters(nbformat.read(NOTEBOOK, as_version=4), {
      "DATA": "slices", "STEPS": STEPS, "WORKDIR": workdir, "INSTALL": False,
      "EXTRA_FLAGS": ["--log_every=50", "--eval_every=100", "--checkpoint_every=100",
                      "--criterion_vocab=1000", "--export_vocab=100"]})
  NotebookClient(nb, kernel_name=KERNEL, timeout=300,
                 resources={"metadata": {"path": ROOT}}).execute()

  with open(os.path.join(workdir, "results.json"), encoding="utf-8") as f:
    results = json.load(f)
  assert {"experiment", "src", "tgt", "model", "steps", "wall_seconds", "selected_step", "bli",
          "criterion", "diversity"} <= set(results)
  assert (results["experiment"], results["src"], results["tgt"]) == ("en_it", "en", "it")
  assert (results["model"], results["steps"]) == ("aae", STEPS)
  assert results["bli"]["queries"] > 100
  for method in ("nn", "csls"):
    assert set(results["bli"][method]) == {"p@1", "p@5", "p@10"}
  assert -1 <= results["criterion"]["mean_cosine"] <= 1

  with open(os.path.join(workdir, "metrics.jsonl"), encoding="utf-8") as f:
    steps = [json.loads(line)["step"] for line in f]
  assert steps[-1] == STEPS

  with open(os.path.join(ROOT, "third_party", "debian_w2v", "it.d100.top3000.vocab"),
            encoding="utf-8") as f:
    italian = {line.split()[0] for line in f}
  with open(os.path.join(workdir, "neighbours.md"), encoding="utf-8") as f:
    rows = {r.split("|")[1].strip(): [c.strip() for c in r.split("|")[2:-1]]
            for r in f.read().splitlines()[2:]}
  for word in ("computer", "rain"):  # In the 3,000-word English slice.
    assert len(rows[word]) == 10 and set(rows[word]) <= italian, rows[word]
  assert rows["comics"][0] == "(not in vocabulary)"

  for name in PNGS:
    with open(os.path.join(workdir, name), "rb") as f:
      data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10000, name

  # The notebook itself showed the table and the four figures.
  outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
  shown = [o for o in outputs if o.output_type == "display_data"]
  assert any("| computer |" in o.data.get("text/markdown", "") for o in shown)
  assert sum("image/png" in o.data for o in shown) == len(PNGS)
  assert not [o for o in outputs if o.output_type == "error"]
