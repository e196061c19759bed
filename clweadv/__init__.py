"""clweadv: cross-lingual word embedding mapping with adversarial autoencoders (Barone 2016).

The package by layer (each module's role: docs/design.md):
  commands      main (a run), prepare, evaluate, translate, report, freedict, doc_classification
  a run         config (flags -> Config), experiment (load, train, select, refine, judge, export)
  the model     models (Flax modules), train (train state, the jitted step), sampling
  no dictionary refine (Procrustes, refinement, dictionary-free starts, chance), normalize
  evaluation    bli/ (blocked NN and CSLS retrieval; BLI, the unsupervised criterion)
  data          data/ (corpora, word2vec, pretrained vectors, FreeDict), embeddings, dictionary
  a safe run    checkpoint (orbax), metrics, progress, fileio (atomic writes), errors, watchdog
"""

__version__ = "0.1.0"
