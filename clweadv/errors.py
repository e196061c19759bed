"""How the command lines end: bad input is one line and exit code 2; SIGINT and SIGTERM are one
line and exit code 130 / 143, after training has saved a checkpoint at the current step."""

import contextlib
import os
import signal
import sys


class InputError(Exception):
  """Bad user input: a file, a line in a file, or a flag. The message is shown as is."""


def warn(message):
  """The one style of warning: a plain `warning: ...` line on stderr."""
  print(f"warning: {message}", file=sys.stderr, flush=True)


class Interrupted(Exception):
  """SIGINT or SIGTERM arrived; `step` is the training step saved in a checkpoint, if any."""

  def __init__(self, signum, step=None):
    super().__init__(signal.Signals(signum).name)
    self.signum, self.step = signum, step


_signals = {"defer": False, "pending": None}


def _on_signal(signum, frame):  # pylint: disable=unused-argument
  if _signals["defer"]:
    _signals["pending"] = signum
  else:
    raise Interrupted(signum)


@contextlib.contextmanager
def deferred_interrupts():
  """Within, SIGINT/SIGTERM are recorded instead of raised; yields a function returning the
  pending signal number (or None). The caller saves its work and raises `Interrupted`."""
  previous = _signals["defer"]
  _signals["defer"] = True
  try:
    yield lambda: _signals["pending"]
  finally:
    _signals["defer"] = previous
    signum = _signals["pending"]
    if not previous:
      _signals["pending"] = None
  if not previous and signum is not None:  # Not raised by the caller: raised here.
    raise Interrupted(signum)


def _leave(code):
  sys.stdout.flush()
  sys.stderr.flush()
  # Every `with` block has been left (locks released, files renamed or removed); only library
  # threads remain (word2vec workers, TensorStore callbacks into a closed event loop after a
  # damaged checkpoint), which must neither delay the exit nor print after the one line.
  os._exit(code)


def exit_on_input_error(fn):
  """Runs `fn()`; an InputError becomes one line on stderr and exit code 2 (no traceback), and
  SIGINT/SIGTERM one line and exit code 128 + the signal's number."""
  if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # Not inside a notebook.
    for signum in (signal.SIGINT, signal.SIGTERM):
      signal.signal(signum, _on_signal)
  try:
    return fn()
  except InputError as e:
    print(f"error: {e}", file=sys.stderr)
    _leave(2)
  except (Interrupted, KeyboardInterrupt) as e:
    signum = getattr(e, "signum", signal.SIGINT)
    step = getattr(e, "step", None)
    where = f" at step {step}" if step is not None else ""
    print(("\n" if sys.stderr.isatty() else "") + f"interrupted{where}; resume with the same "
          "command", file=sys.stderr)
    _leave(128 + signum)


def reject_arguments(argv):
  """For commands that take only flags: words left after the flags are one line, exit code 2."""
  if len(argv) > 1:
    print(f"error: unexpected arguments {' '.join(argv[1:])!r}", file=sys.stderr)
    sys.exit(2)


_HELP = ("--help", "-help", "-h", "-?", "--helpshort", "--helpfull", "--helpxml")


def parse_flags(argv):
  """An absl `flags_parser`: a bad flag, flag value or flagfile is one line and exit code 2."""
  # absl only here, in the command-line layer: the library modules that raise InputError do not
  # load it.
  from absl import flags, logging  # pylint: disable=g-import-not-at-top
  try:
    argv = flags.FLAGS(argv)
  except flags.Error as e:
    first = str(e).splitlines()[0]
    print(f"error: {first.removeprefix('ERROR:: ')}", file=sys.stderr)
    sys.exit(2)
  except SystemExit as e:  # absl's --help, --helpshort, --helpfull exit 1; help is not an error.
    if e.code == 1 and any(a.split("=")[0] in _HELP for a in argv[1:]):
      sys.exit(0)
    raise
  if not flags.FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)  # JAX and orbax log routine events at INFO.
  return argv
