"""One exception type for bad user input, turned into a one-line message and exit code 2."""

import os
import sys


class InputError(Exception):
  """Bad user input: a file, a line in a file, or a flag. The message is shown as is."""


def exit_on_input_error(fn):
  """Runs `fn()`; an InputError becomes one line on stderr and exit code 2 (no traceback)."""
  try:
    return fn()
  except InputError as e:
    print(f"error: {e}", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    # Every `with` block has been left (locks released, files renamed or removed); only
    # library threads remain, whose shutdown noise (e.g. TensorStore's callbacks into a closed
    # event loop after a damaged checkpoint) must not follow the one-line message.
    os._exit(2)


def reject_arguments(argv):
  """For commands that take only flags: words left after the flags are one line, exit code 2."""
  if len(argv) > 1:
    print(f"error: unexpected arguments {' '.join(argv[1:])!r}", file=sys.stderr)
    sys.exit(2)


def parse_flags(argv):
  """An absl `flags_parser`: a bad flag, flag value or flagfile is one line and exit code 2."""
  from absl import flags, logging  # pylint: disable=g-import-not-at-top
  try:
    argv = flags.FLAGS(argv)
  except flags.Error as e:
    print(f"error: {str(e).splitlines()[0]}", file=sys.stderr)
    sys.exit(2)
  if not flags.FLAGS["verbosity"].present:
    logging.set_verbosity(logging.WARNING)  # JAX and orbax log routine events at INFO.
  return argv
