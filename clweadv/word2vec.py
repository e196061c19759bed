"""Word2vec skip-gram embeddings of a corpus (gensim), written as `.vec` + a `word count` file."""

import logging
import sys
import time

from clweadv.embeddings import write_counts, write_vec


class _Progress(logging.Handler):
  """Shows gensim's progress lines as one `\\r`-updated line on stderr."""

  def emit(self, record):
    msg = record.getMessage()
    if "PROGRESS" in msg or "EPOCH" in msg:
      print("\r  " + msg[:100].ljust(100), end="", file=sys.stderr, flush=True)


def train_word2vec(corpus_path, *, dim, vec_path, vocab_path, max_vocab=50000, window=5,
                   min_count=5, negative=10, epochs=5, workers=2, seed=1):
  """Trains skip-gram word2vec on a one-paragraph-per-line corpus like Barone (2016).

  Writes the `max_vocab` most frequent words (frequency order) to `vec_path` and their corpus
  counts to `vocab_path`, both atomically. Returns a dict of statistics.
  """
  from gensim.models import Word2Vec
  logger = logging.getLogger("gensim")
  handler = _Progress()
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
    print("", file=sys.stderr)
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
