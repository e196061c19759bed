"""Shared fixtures: paths of the real data slices shipped in third_party/, and run configs."""

import atexit
import os
import shutil
import tempfile

import pytest
from absl import flags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EN_GLOVE = os.path.join(ROOT, "third_party", "glove6b", "en.top5000.vec")
FR_FASTTEXT = os.path.join(ROOT, "third_party", "fasttext_fr", "fr.top4000.vec")
EN_FR_DICT = os.path.join(ROOT, "third_party", "freedict", "en-fr.txt")

# The tests start many `clweadv` processes that compile the same small XLA programs: one
# compilation cache for the session, inherited by every process, compiles each once (a cached
# program is the compiled code itself: results do not change; test_robustness's kill-and-resume
# test went from 90 s to 41 s). Set before jax is imported; removed at exit.
_XLA_CACHE = tempfile.mkdtemp(prefix="clweadv-tests-xla-cache-")
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", _XLA_CACHE)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
atexit.register(shutil.rmtree, _XLA_CACHE, ignore_errors=True)


def make_config(workdir, *args, **overrides):
  """A validated `Config` for `clweadv.main`'s flags, on the real en (GloVe) -> fr slices."""
  from clweadv import config  # pylint: disable=g-import-not-at-top
  config.define_flags()
  values = dict(src_emb=EN_GLOVE, tgt_emb=FR_FASTTEXT, src_lang="en", tgt_lang="fr",
                max_vocab=2000, steps=200, log_every=50, eval_every=100, checkpoint_every=100,
                workdir=str(workdir), criterion_vocab=1000, export_vocab=100,
                normalize="none")  # The faithful reproduction's preprocessing.
  values.update(overrides)
  argv = ["clweadv"] + [f"--{k}={v}" for k, v in values.items()] + list(args)
  flags.FLAGS.unparse_flags()
  flags.FLAGS(argv)
  try:
    return config.from_flags(resolve_pair=None)
  finally:
    flags.FLAGS.unparse_flags()


@pytest.fixture
def config_factory():
  return make_config
