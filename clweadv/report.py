r"""Pictures of a run, drawn from its work dir.

  python -m clweadv.report --workdir=runs/en_it [--dictionary=en-it.test.txt] [--pairs=40]

Writes PNG files into the work dir:
  losses.png          generator loss terms and the discriminator losses over steps
  discriminators.png  accuracy of D0 (trains the generator) and D1 (the monitor) over steps
  selection.png       the unsupervised criterion, output diversity and P@1 over steps
  projection.png      PCA (2-D) of mapped source and target words for dictionary pairs

From Python, pictures across runs (experiments/reproduce.py uses them):
  write_comparison(path, [(label, workdir), ...], panels=[(metric, title), ...], title=...)
  write_bars(path, groups=[...], series=[...], panels=[(title, {(series, group): value})], ...)
"""

import os

from absl import app, flags
import numpy as np

from clweadv.dictionary import read_dictionary
from clweadv.embeddings import read_embeddings
from clweadv.errors import InputError, exit_on_input_error, parse_flags, reject_arguments
from clweadv.fileio import read_run_config, warn_if_failed
from clweadv.metrics import read_metrics
from clweadv.normalize import unit_rows

FLAGS = flags.FLAGS


def define_flags():
  flags.DEFINE_string("workdir", None, "Work dir of a `clweadv.main` run.")
  flags.DEFINE_string("dictionary", None, "`src tgt` pairs for the projection (default: the "
                      "run's --test_dictionary).")
  flags.DEFINE_integer("pairs", 40, "Dictionary pairs shown in the projection.")


def _pyplot():
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  return plt


def _series(rows, key):
  pts = [(r["step"], r[key]) for r in rows if r.get(key) is not None and "refine/iter" not in r]
  return ([p[0] for p in pts], [p[1] for p in pts]) if pts else None


def _plot_lines(path, rows, panels, title):
  """panels: [(axis title, [(metric key, label)])]; draws only the series present."""
  plt = _pyplot()
  fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4), squeeze=False)
  drawn = 0
  for ax, (name, keys) in zip(axes[0], panels):
    for key, label in keys:
      s = _series(rows, key)
      if s:
        ax.plot(*s, label=label, marker="." if len(s[0]) < 30 else None)
        drawn += 1
    ax.set_title(name)
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
      ax.legend(fontsize=8)
  fig.suptitle(title)
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)
  return drawn


def _projection(path, workdir, cfg, dictionary, n_pairs):
  files = [os.path.join(workdir, f"vectors-{cfg[k]}.vec") for k in ("src_lang", "tgt_lang")]
  if not all(os.path.isfile(p) for p in files):
    return False
  src, tgt = (read_embeddings(p) for p in files)
  d = read_dictionary(dictionary, src_index=src.index, tgt_index=tgt.index, quiet=True)
  order = np.argsort(d.src_ids)[:n_pairs]  # The most frequent covered source words.
  s_rows = d.src_ids[order]
  t_rows = np.array([d.gold_ids[i][0] for i in order])
  x = np.concatenate([src.vectors[s_rows], tgt.vectors[t_rows]])
  x = unit_rows(x)
  x = x - x.mean(axis=0)
  _, _, vt = np.linalg.svd(x, full_matrices=False)
  p = x @ vt[:2].T
  n = len(s_rows)
  plt = _pyplot()
  fig, ax = plt.subplots(figsize=(9, 8))
  ax.scatter(p[:n, 0], p[:n, 1], c="tab:blue", s=14, label=f"{cfg['src_lang']} (mapped)")
  ax.scatter(p[n:, 0], p[n:, 1], c="tab:red", s=14, label=cfg["tgt_lang"])
  for i in range(n):
    ax.plot([p[i, 0], p[n + i, 0]], [p[i, 1], p[n + i, 1]], c="grey", lw=0.5, alpha=0.6)
    ax.annotate(src.words[s_rows[i]], p[i], fontsize=7, color="tab:blue")
    ax.annotate(tgt.words[t_rows[i]], p[n + i], fontsize=7, color="tab:red")
  ax.set_title(f"PCA of {n} dictionary pairs in the shared space (grey: gold translation)")
  ax.legend()
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)
  return True


def write_report(workdir, *, dictionary=None, pairs=40):
  """Draws the pictures of a run; returns the list of PNG paths written."""
  cfg = read_run_config(workdir)
  if not os.path.isfile(os.path.join(workdir, "metrics.jsonl")):
    raise InputError(f"{workdir}/metrics.jsonl: missing (the run has not logged yet)")
  rows = read_metrics(workdir)
  name = cfg.get("experiment", os.path.basename(workdir))
  written = []
  plots = [
      ("losses.png", [("generator", [("train/gen_loss", "total"),
                                     ("train/recon_loss", "reconstruction"),
                                     ("train/adv_loss", "adversarial"),
                                     ("train/cos_loss", "cosine")]),
                      ("discriminators", [("train/disc_loss", "D0 (trains G)"),
                                          ("monitor/disc_loss", "D1 (monitor)")])]),
      ("discriminators.png", [("accuracy", [("train/disc_acc", "D0 (trains G)"),
                                            ("monitor/disc_acc", "D1 (monitor)")])]),
      ("selection.png", [("unsupervised", [("valid/mean_cosine", "criterion (mean cosine)"),
                                           ("valid/diversity", "diversity")]),
                         ("BLI P@1 (%)", [("test/nn/p@1", "NN"),
                                          ("test/csls/p@1", "CSLS")])]),
  ]
  for filename, panels in plots:
    path = os.path.join(workdir, filename)
    if _plot_lines(path, rows, panels, f"{name}: {filename[:-4]}"):
      written.append(path)
  dictionary = dictionary or cfg.get("test_dictionary")
  if dictionary:
    path = os.path.join(workdir, "projection.png")
    if _projection(path, workdir, cfg, dictionary, pairs):
      written.append(path)
  return written


def write_comparison(path, runs, *, panels, title, columns=None, logy=(), sharey=False):
  """One panel per metric, one line per run: several work dirs on the same axes.

  Args:
    path: the PNG to write.
    runs: [(label, workdir)], each with a metrics.jsonl.
    panels: [(metric key, axis title)], e.g. ("valid/diversity", "output diversity").
    title: the figure's title.
    columns: panels per row (default: all in one row).
    logy: metric keys drawn on a logarithmic y axis.
    sharey: one y scale for all panels (metrics of the same kind, e.g. two accuracies).

  Returns:
    `path`. Raises InputError when a run has no metrics or no panel has data.
  """
  loaded = []
  for label, workdir in runs:
    if not os.path.isfile(os.path.join(workdir, "metrics.jsonl")):
      raise InputError(f"{workdir}/metrics.jsonl: missing (the run has not logged yet)")
    loaded.append((label, read_metrics(workdir)))
  plt = _pyplot()
  columns = columns or len(panels)
  n_rows = -(-len(panels) // columns)
  fig, axes = plt.subplots(n_rows, columns, figsize=(5.2 * columns, 3.6 * n_rows + 0.6),
                           squeeze=False, sharey=sharey)
  drawn = 0
  for i, ax in enumerate(axes.flat):
    if i >= len(panels):
      ax.set_visible(False)
      continue
    key, name = panels[i]
    for j, (label, rows) in enumerate(loaded):
      s = _series(rows, key)
      if s:
        ax.plot(*s, label=label, color=f"C{j}", lw=1.2, alpha=0.85,
                marker="." if len(s[0]) < 40 else None)
        drawn += 1
    if key in logy:
      ax.set_yscale("log")
    ax.set_title(name, fontsize=10)
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
  if not drawn:
    plt.close(fig)
    raise InputError(f"{path}: none of {[k for k, _ in panels]} logged by any run")
  handles, labels = axes.flat[0].get_legend_handles_labels()
  if not handles:
    for ax in axes.flat:
      handles, labels = ax.get_legend_handles_labels()
      if handles:
        break
  fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), fontsize=9)
  fig.suptitle(title, fontsize=11)
  fig.tight_layout(rect=(0, 0.07 if n_rows == 1 else 0.04, 1, 1))
  fig.savefig(path, dpi=100)
  plt.close(fig)
  return path


def write_bars(path, *, groups, series, panels, title):
  """Grouped bars with their values written on them (a missing value shows as "n/a").

  Args:
    path: the PNG to write.
    groups: x-axis groups, e.g. language pairs.
    series: the bars of each group, e.g. methods.
    panels: [(axis title, {(series, group): value or None})].
    title: the figure's title.

  Returns:
    `path`.
  """
  plt = _pyplot()
  fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.2), squeeze=False)
  width = 0.8 / len(series)
  x = np.arange(len(groups))
  for ax, (name, values) in zip(axes[0], panels):
    top = max([v for v in values.values() if v is not None] + [1e-9])
    for j, s in enumerate(series):
      vals = [values.get((s, g)) for g in groups]
      pos = x - 0.4 + width * (j + 0.5)
      ax.bar(pos, [v or 0.0 for v in vals], width, label=s, color=f"C{j}")
      for px, v in zip(pos, vals):
        ax.annotate("n/a" if v is None else f"{v:.1f}", (px, v or 0.0),
                    xytext=(0, 2), textcoords="offset points", ha="center", fontsize=8)
    ax.set_xticks(x)
    ax.set_xticklabels(groups)
    ax.set_ylim(0, top * 1.15)
    ax.set_title(name, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
  handles, labels = axes[0][0].get_legend_handles_labels()
  fig.legend(handles, labels, loc="lower center", ncol=len(series), fontsize=9)
  fig.suptitle(title, fontsize=11)
  fig.tight_layout(rect=(0, 0.07, 1, 1))
  fig.savefig(path, dpi=100)
  plt.close(fig)
  return path


def main(argv):
  reject_arguments(argv)

  def run():
    for path in write_report(FLAGS.workdir, dictionary=FLAGS.dictionary, pairs=FLAGS.pairs):
      print(path)
    warn_if_failed(FLAGS.workdir)
  exit_on_input_error(run)


if __name__ == "__main__":
  define_flags()
  app.run(main, flags_parser=parse_flags)
