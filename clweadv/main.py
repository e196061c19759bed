r"""Maps one language's word embeddings onto another's without parallel text.

  python -m clweadv.main --flagfile=experiments/en_it.flags [--steps=...] [--workdir=...]
"""

import sys

from absl import app, flags

from clweadv import config, experiment, train, watchdog
from clweadv.data import prepare
from clweadv.errors import exit_on_input_error, parse_flags, reject_arguments


def main(argv):
  reject_arguments(argv)

  def run():
    config.init_distributed()
    config.init_compilation_cache(default_data_dir=prepare.default_data_dir())
    watchdog.configure(flags.FLAGS.device_timeout)
    cfg = config.from_flags(resolve_pair=prepare.ensure_pair)  # Prepares a missing pair.
    try:
      experiment.run_experiment(cfg)
    except train.NonFiniteLossError as e:
      print(f"error: {e}", file=sys.stderr)
      return 1
    return 0
  return exit_on_input_error(run)


def define_flags():
  config.define_flags()
  flags.adopt_module_key_flags(config)  # --helpshort lists clweadv's flags.


if __name__ == "__main__":
  define_flags()
  app.run(main, flags_parser=parse_flags)
