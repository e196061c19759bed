"""Word2vec skip-gram embeddings of a corpus (gensim), written as `.vec` + a `word count` file."""

import logging
import re
import time

from clweadv.embeddings import write_counts, write_vec
from clweadv.progress import Progress


class _Progress(logging.Handler):
  """Turns gensim's log into progress lines: counting words, then epoch k of n with an estimate
  of the time left over all epochs."""

  def __init__(self, label, epochs):
    super().__init__()
    self.epochs = epochs
    self.counting = Progress(f"{label}: word2vec, counting words in paragraphs")
    self.training = Progress(f"{label}: word2vec, training", percent=True)
    self.first_epoch = None  # gensim numbers epochs from 0 or 1, depending on its version.

  def emit(self, record):
    msg = record.getMessage()
    counted = re.search(r"PROGRESS: at sentence #(\d+)", msg)
    epoch = re.match(r"EPOCH (\d+) - PROGRESS: at ([\d.]+)%", msg)
    if counted and int(counted.group(1)):
      self.counting(int(counted.group(1)))
    elif epoch:
      if self.first_epoch is None:
        self.first_epoch = int(epoch.group(1))
      k = int(epoch.group(1)) - self.first_epoch
      # One thread's estimate of an epoch's share can pass 100 %.
      done = (100.0 * k + min(float(epoch.group(2)), 100.0)) / self.epochs
      self.training(done, 100, f"epoch {k + 1} of {self.epochs}")


def train_word2vec(corpus_path, *, dim, vec_path, vocab_path, max_vocab=50000, window=5,
                   min_count=5, negative=10, epochs=5, workers=2, seed=1, label="word2vec"):
  """Trains skip-gram word2vec on a one-paragraph-per-line corpus like Barone (2016).

  Writes the `max_vocab` most frequent words (frequency order) to `vec_path` and their corpus
  counts to `vocab_path`, both atomically. Returns a dict of statistics.
  """
  from gensim.models import Word2Vec
  logger = logging.getLogger("gensim")
  handler = _Progress(label, epochs)
  logger.addHandler(handler)
  old_level, old_propagate = logger.level, logger.propagate
  logger.setLevel(logging.INFO)
  logger.propagate = False  # Progress shows on one line; absl's handler would print it all.
  t0, cpu0 = time.time(), time.process_time()
  try:
    model = Word2Vec(corpus_file=corpus_path, vector_size=dim, window=window,
                     min_count=min_count, sg=1, negative=negative, epochs=epochs,
                     workers=workers, seed=seed)
  finally:
    logger.removeHandler(handler)
    logger.setLevel(old_level)
    logger.propagate = old_propagate
    handler.counting.close()
    handler.training.close()
  seconds, cpu = time.time() - t0, time.process_time() - cpu0
  wv = model.wv
  words = wv.index_to_key[:max_vocab] if max_vocab else list(wv.index_to_key)
  counts = [int(wv.get_vecattr(w, "count")) for w in words]
  write_vec(vec_path, words, wv.vectors[:len(words)])
  write_counts(vocab_path, words, counts)
  return {"dim": dim, "window": window, "min_count": min_count, "negative": negative,
          "epochs": epochs, "workers": workers, "seed": seed,
          "words_min_count": len(wv.index_to_key), "words_written": len(words),
          "corpus_words": int(model.corpus_total_words), "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1)}
