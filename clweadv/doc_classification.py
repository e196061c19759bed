r"""Cross-lingual document classification on Debian package descriptions.

  python -m clweadv.doc_classification --workdir=DIR --direction=en-fr [--data_dir=...]

The protocol of Klementiev et al. (2012), which the paper uses on RCV1/RCV2, rebuilt on text
that can be had here: a document is a package's description (short and long) from apt's i18n
index in one language, its label the package's archive section from apt's `Packages` index.
An averaged perceptron is trained on tf-idf weighted mean word vectors of documents in one
language and tested on documents of other packages in the other language, both embedded with a
finished run's exported vectors (`vectors-SRC.vec` is mapped into the space of
`vectors-TGT.vec`). `--direction=SRC-TGT` (the run's pair, either order) trains on the first
language and tests on the second.

Documents and the vectors' corpora: `clweadv.data.corpora` keeps a description in the English corpus
when its `Description-md5` hashes to an even number and in the other language's corpus when odd.
Each document here is taken from its own language's side of that split (English documents have
even hashes, the others odd), so every training and test document is text its language's
vectors were trained on, and the translation of a test document is in no corpus and no training
set. That alone makes the cross-lingual training and test packages disjoint; on top of it every
training document (cross-lingual and monolingual) whose package, source package or description
is that of a test document is dropped.

Reported for each training size: accuracy of the cross-lingual classifier, the majority-class
baseline (the training set's most frequent section, scored on the test set), the monolingual
upper bound (train and test in the test language, on disjoint packages), and coverage (the
fraction of tokens that have a vector). Written to `DIR/doc_classification.SRC-TGT.json`.
"""

import collections
import dataclasses
import os

import numpy as np
from absl import app, flags

from clweadv.data import corpora, prepare
from clweadv.errors import InputError, exit_on_input_error, parse_flags, reject_arguments
from clweadv.fileio import read_run_config, write_json
from clweadv.translate import load_workdir

FLAGS = flags.FLAGS


def define_flags():
  """The CLI's flags (defined only when run as a program: `clweadv.main` shares `workdir`)."""
  flags.DEFINE_string("workdir", None, "Work dir of a finished `clweadv.main` run with exports.")
  flags.DEFINE_string("direction", None, "TRAIN-TEST languages: the run's pair, either order.")
  flags.DEFINE_string("data_dir", None, "Data dir holding the apt indexes (default "
                      "$CLWEADV_DATA or ~/.cache/clweadv; fetched into debian/ when missing).")
  flags.DEFINE_list("train_sizes", ["1000", "10000"], "Training documents per row (as many as "
                    "exist when fewer).")
  flags.DEFINE_integer("test_size", 5000, "Test documents (fewer when the test language has "
                       "too few, keeping the smallest training size for the monolingual bound).")
  flags.DEFINE_integer("min_class_docs", 200, "Keep the sections with at least this many "
                       "documents in each language.")
  flags.DEFINE_integer("epochs", 10, "Perceptron epochs.")
  flags.DEFINE_integer("seed", 0, "Seed of the document samples and the perceptron's order.")


# ---------------------------------------------------------------------------------------------
# Documents.

@dataclasses.dataclass(frozen=True)
class Document:
  package: str
  source: str      # Source package (the package itself when the index names none).
  md5: str         # Description-md5: shared by the description's translations.
  section: str     # Archive section, without its contrib/ or non-free/ prefix.
  tokens: tuple


def read_sections(lines_iter):
  """{package: (section, source package)} of an apt `Packages` index."""
  out = {}
  for stanza in corpora.read_stanzas(lines_iter):
    name, section = stanza.get("Package"), stanza.get("Section")
    if name and section and name not in out:
      source = (stanza.get("Source") or name).split()[0]
      out[name] = (section.rsplit("/", 1)[-1], source)
  return out


def read_documents(lines_iter, *, lang, sections):
  """The documents of an apt Translation-LANG index on LANG's side of the corpus split whose
  package has a section, in index order (one per package, the first)."""
  field, out, seen = "Description-" + lang, [], set()
  for stanza in corpora.read_stanzas(lines_iter):
    name, md5 = stanza.get("Package"), stanza.get("Description-md5")
    if field not in stanza or not md5 or name not in sections or name in seen:
      continue
    if not corpora.keep_side("desc:" + md5, lang):
      continue
    tokens = corpora.tokenize(" ".join(corpora.description_paragraphs(stanza[field])))
    if tokens:
      seen.add(name)
      section, source = sections[name]
      out.append(Document(name, source, md5, section, tuple(tokens)))
  return out


def choose_classes(*, train_pool, test_pool, min_docs):
  """Sections with at least `min_docs` documents in both pools, most common (in the scarcer
  pool) first."""
  a = collections.Counter(d.section for d in train_pool)
  b = collections.Counter(d.section for d in test_pool)
  kept = [s for s in a if a[s] >= min_docs and b[s] >= min_docs]
  return sorted(kept, key=lambda s: (-min(a[s], b[s]), s))


@dataclasses.dataclass
class Split:
  test: list       # Test documents (test language).
  train: list      # Training documents (training language); smaller sizes are prefixes.
  mono: list       # Monolingual training documents (test language); prefixes as well.
  dropped: dict    # Pool documents dropped for sharing a package, source package or
                   # description with a test document, per training set.


def _keys(docs):
  return ({d.package for d in docs}, {d.source for d in docs}, {d.md5 for d in docs})


def _shares(doc, keys):
  return doc.package in keys[0] or doc.source in keys[1] or doc.md5 in keys[2]


def split_documents(*, train_pool, test_pool, classes, train_size, test_size, reserve, seed):
  """Samples the test set, then training sets of up to `train_size` documents that share no
  package, source package or description with it. `test_size` shrinks where needed to leave
  min(`reserve`, half the test language's documents) for the monolingual training set."""
  rng = np.random.default_rng(seed)
  keep = set(classes)

  def shuffled(pool):
    docs = sorted((d for d in pool if d.section in keep), key=lambda d: d.package)
    return [docs[i] for i in rng.permutation(len(docs))]
  cands = shuffled(test_pool)
  n_test = min(test_size, len(cands) - min(reserve, len(cands) // 2))
  test = cands[:n_test]
  taken = _keys(test)

  def disjoint(docs, name):
    out = [d for d in docs if not _shares(d, taken)]
    dropped[name] = len(docs) - len(out)
    return out[:train_size]
  dropped = {}
  train = disjoint(shuffled(train_pool), "train")
  mono = disjoint(cands[n_test:], "monolingual")
  return Split(test=test, train=train, mono=mono, dropped=dropped)


# ---------------------------------------------------------------------------------------------
# Features and the classifier.

def idf_weights(docs_tokens):
  """Smoothed inverse document frequencies, log((1 + N) / (1 + df)) + 1, and the weight of a
  word in none of the documents."""
  df = collections.Counter(w for tokens in docs_tokens for w in set(tokens))
  n = len(docs_tokens)
  return {w: float(np.log((1 + n) / (1 + c)) + 1) for w, c in df.items()}, float(np.log(1 + n) + 1)


def document_vectors(*, docs_tokens, emb, idf):
  """(unit-length tf-idf weighted mean word vectors N x D, fraction of tokens with a vector).

  `idf` is `idf_weights`' pair; a document with no word in `emb` is the zero vector.
  """
  weights, unseen = idf
  x_NxD = np.zeros((len(docs_tokens), emb.dim), np.float32)
  covered = total = 0
  for i, tokens in enumerate(docs_tokens):
    tf = collections.Counter(t for t in tokens if t in emb.index)
    total += len(tokens)
    covered += sum(tf.values())
    if not tf:
      continue
    ids = np.fromiter((emb.index[w] for w in tf), np.int64, len(tf))
    w_K = np.fromiter((c * weights.get(w, unseen) for w, c in tf.items()), np.float32, len(tf))
    v_D = w_K @ emb.vectors[ids] / w_K.sum()
    x_NxD[i] = v_D / max(float(np.linalg.norm(v_D)), 1e-8)
  return x_NxD, covered / max(total, 1)


def train_perceptron(*, x_NxD, labels_N, num_classes, epochs, seed):
  """Averaged multi-class perceptron (Collins 2002) with a bias; returns weights C x (D + 1).

  Examples are visited in a fresh seeded order each epoch; a mistake adds the example to the
  true class's row and subtracts it from the predicted one. The average over all visits is
  kept with the usual trick (u accumulates updates times their visit number).

  >>> x = np.array([[1., 0.], [0., 1.], [1., .1], [.1, 1.]], np.float32)
  >>> w = train_perceptron(x_NxD=x, labels_N=np.array([0, 1, 0, 1]), num_classes=2, epochs=3,
  ...                      seed=0)
  >>> predict(w_CxE=w, x_NxD=x).tolist()
  [0, 1, 0, 1]
  """
  x_NxE = np.concatenate([x_NxD, np.ones((len(x_NxD), 1), x_NxD.dtype)], axis=1)
  w_CxE = np.zeros((num_classes, x_NxE.shape[1]), np.float64)
  u_CxE = np.zeros_like(w_CxE)
  rng = np.random.default_rng(seed)
  t = 1
  for _ in range(epochs):
    for i in rng.permutation(len(x_NxE)):
      x_E, y = x_NxE[i], labels_N[i]
      p = int(np.argmax(w_CxE @ x_E))
      if p != y:
        w_CxE[y] += x_E
        w_CxE[p] -= x_E
        u_CxE[y] += t * x_E
        u_CxE[p] -= t * x_E
      t += 1
  return w_CxE - u_CxE / t


def predict(*, w_CxE, x_NxD):
  return np.argmax(x_NxD @ w_CxE[:, :-1].T + w_CxE[:, -1], axis=1)


# ---------------------------------------------------------------------------------------------
# The protocol.

def _accuracy(pred_N, labels_N):
  return round(100.0 * float(np.mean(pred_N == labels_N)), 2) if len(labels_N) else None


def classify(*, train_lang, test_lang, train_emb, test_emb, train_pool, test_pool, train_sizes,
             test_size, min_class_docs, epochs, seed):
  """Runs the protocol; returns (report dict, Split).

  tf-idf weights are computed per side, each from documents outside the test set: those of
  the training language from each row's training documents, those of the test language from
  its monolingual training documents.
  """
  classes = choose_classes(train_pool=train_pool, test_pool=test_pool, min_docs=min_class_docs)
  if len(classes) < 4:
    raise InputError(f"only {len(classes)} sections have {min_class_docs} documents in both "
                     f"{train_lang} and {test_lang} (need 4): lower --min_class_docs")
  sizes = sorted(set(train_sizes))
  split = split_documents(train_pool=train_pool, test_pool=test_pool, classes=classes,
                          train_size=sizes[-1], test_size=test_size, reserve=sizes[0],
                          seed=seed)
  check_disjoint(split)
  label = {s: i for i, s in enumerate(classes)}
  labels = lambda docs: np.array([label[d.section] for d in docs], np.int64)
  test_idf = idf_weights([d.tokens for d in split.mono])
  y_test = labels(split.test)
  x_test, test_cov = document_vectors(docs_tokens=[d.tokens for d in split.test],
                                      emb=test_emb, idf=test_idf)
  x_mono_all, mono_cov = document_vectors(docs_tokens=[d.tokens for d in split.mono],
                                          emb=test_emb, idf=test_idf)
  perceptron = dict(num_classes=len(classes), epochs=epochs, seed=seed)
  rows = []
  for size in sizes:
    train = split.train[:size]
    y = labels(train)
    x, cov = document_vectors(docs_tokens=[d.tokens for d in train], emb=train_emb,
                              idf=idf_weights([d.tokens for d in train]))
    w = train_perceptron(x_NxD=x, labels_N=y, **perceptron)
    majority = int(np.bincount(y, minlength=len(classes)).argmax())
    n_mono = min(size, len(split.mono))
    w_mono = train_perceptron(x_NxD=x_mono_all[:n_mono], labels_N=labels(split.mono[:n_mono]),
                              **perceptron)
    rows.append({
        "train_size": size, "train_documents": len(train),
        "cross_lingual_accuracy": _accuracy(predict(w_CxE=w, x_NxD=x_test), y_test),
        "majority_class": classes[majority],
        "majority_baseline": _accuracy(np.full_like(y_test, majority), y_test),
        "monolingual_train_documents": n_mono,
        "monolingual_accuracy": _accuracy(predict(w_CxE=w_mono, x_NxD=x_test), y_test),
        "train_coverage": round(cov, 4)})
  count = lambda docs: dict(collections.Counter(d.section for d in docs).most_common())
  report = {
      "train_lang": train_lang, "test_lang": test_lang, "classes": classes,
      "pool_documents": {train_lang: count(d for d in train_pool if d.section in label),
                         test_lang: count(d for d in test_pool if d.section in label)},
      "test": {"documents": len(split.test), "coverage": round(test_cov, 4),
               "sections": count(split.test),
               "best_constant_accuracy": _accuracy(np.full_like(y_test, np.bincount(
                   y_test, minlength=len(classes)).argmax()), y_test)},
      "monolingual": {"documents": len(split.mono), "coverage": round(mono_cov, 4)},
      "dropped_sharing_with_test": split.dropped,
      "rows": rows,
      "settings": {"min_class_docs": min_class_docs, "test_size": test_size, "epochs": epochs,
                   "seed": seed, "idf": "per side, from non-test documents"},
  }
  return report, split


def check_disjoint(split):
  """Raises if a training document shares a package, source package or description with a
  test document."""
  test = _keys(split.test)
  for name, docs in (("training", split.train), ("monolingual training", split.mono)):
    for d in docs:
      if _shares(d, test):
        raise AssertionError(f"{name} document {d.package} shares its package, source or "
                             "description with a test document")


def format_table(report, *, title):
  t, s = report["train_lang"], report["test_lang"]
  lines = [title,
           f"classes ({len(report['classes'])}): {', '.join(report['classes'])}",
           f"test: {report['test']['documents']} {s} documents, coverage "
           f"{report['test']['coverage']:.3f}, best constant guess (an oracle) "
           f"{report['test']['best_constant_accuracy']:.1f}",
           "",
           f"| train docs ({t}) | {t} -> {s} accuracy | majority baseline | monolingual {s} "
           f"(train docs) | train coverage |",
           "|---|---|---|---|---|"]
  for r in report["rows"]:
    shown = str(r["train_documents"]) + (
        f" (of {r['train_size']} asked)" if r["train_documents"] < r["train_size"] else "")
    lines.append(f"| {shown} | {r['cross_lingual_accuracy']:.1f} | "
                 f"{r['majority_baseline']:.1f} ({r['majority_class']}) | "
                 f"{r['monolingual_accuracy']:.1f} ({r['monolingual_train_documents']}) | "
                 f"{r['train_coverage']:.3f} |")
  return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The command.

def _check_flags(run_cfg):
  pair = (run_cfg.get("src_lang"), run_cfg.get("tgt_lang"))
  allowed = (f"{pair[0]}-{pair[1]}", f"{pair[1]}-{pair[0]}")
  if not FLAGS.direction:
    raise InputError(f"--direction is required: {allowed[0]} or {allowed[1]} for this run")
  if FLAGS.direction not in allowed:
    raise InputError(f"--direction={FLAGS.direction}: this run maps {allowed[0]}; use "
                     f"{allowed[0]} or {allowed[1]}")
  try:
    sizes = [int(s) for s in FLAGS.train_sizes]
  except ValueError:
    raise InputError(f"--train_sizes={','.join(FLAGS.train_sizes)}: expected integers")
  if not sizes or min(sizes) < 1:
    raise InputError(f"--train_sizes={','.join(FLAGS.train_sizes)}: every size must be >= 1")
  for name in ("test_size", "min_class_docs", "epochs"):
    if FLAGS[name].value < 1:
      raise InputError(f"--{name}={FLAGS[name].value}: must be >= 1")
  return FLAGS.direction.split("-"), sizes


def run():
  (train_lang, test_lang), sizes = _check_flags(read_run_config(FLAGS.workdir))
  cfg, src, tgt = load_workdir(FLAGS.workdir)
  emb = {cfg["src_lang"]: src, cfg["tgt_lang"]: tgt}
  deb_dir = os.path.join(FLAGS.data_dir or prepare.default_data_dir(), "debian")
  with open(corpora.fetch_sections(deb_dir), encoding="utf-8") as f:
    sections = read_sections(f)
  pools = {}
  for lang in (train_lang, test_lang):
    with open(corpora.fetch_descriptions(lang, deb_dir), encoding="utf-8") as f:
      pools[lang] = read_documents(f, lang=lang, sections=sections)
  report, _ = classify(train_lang=train_lang, test_lang=test_lang, train_emb=emb[train_lang],
                       test_emb=emb[test_lang], train_pool=pools[train_lang],
                       test_pool=pools[test_lang], train_sizes=sizes,
                       test_size=FLAGS.test_size, min_class_docs=FLAGS.min_class_docs,
                       epochs=FLAGS.epochs, seed=FLAGS.seed)
  report = {"direction": FLAGS.direction, "workdir": os.path.abspath(FLAGS.workdir),
            "run": {k: cfg.get(k) for k in ("experiment", "model", "init", "src_emb",
                                            "tgt_emb")},
            **report}
  out = os.path.join(FLAGS.workdir, f"doc_classification.{FLAGS.direction}.json")
  write_json(out, report)
  print(format_table(report, title=f"Document classification {train_lang} -> {test_lang}, "
                                   f"{cfg.get('experiment')} ({out})"), flush=True)


def main(argv):
  reject_arguments(argv)
  exit_on_input_error(run)


if __name__ == "__main__":
  define_flags()
  app.run(main, flags_parser=parse_flags)
