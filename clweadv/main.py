r"""Maps one language's word embeddings onto another's without parallel text.

  python -m clweadv.main --flagfile=experiments/en_it.flags [--steps=...] [--workdir=...]
"""

import sys

from absl import app, flags

from clweadv import config, watchdog
from clweadv.errors import exit_on_input_error, parse_flags, reject_arguments

flags.adopt_module_key_flags(config)  # --helpshort lists clweadv's flags.


def main(argv):
  reject_arguments(argv)
  from clweadv import experiment, train  # pylint: disable=g-import-not-at-top

  def resolve_pair(**kwargs):  # Prepares the pair's data when missing.
    from clweadv.data import prepare  # pylint: disable=g-import-not-at-top
    return prepare.ensure_pair(**kwargs)

  def run():
    config.init_distributed()
    watchdog.configure(flags.FLAGS.device_timeout)
    cfg = config.from_flags(resolve_pair=resolve_pair)
    try:
      experiment.run_experiment(cfg)
    except train.NonFiniteLossError as e:
      print(f"error: {e}", file=sys.stderr)
      return 1
    return 0
  return exit_on_input_error(run)


if __name__ == "__main__":
  app.run(main, flags_parser=parse_flags)
