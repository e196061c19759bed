"""Extracts bilingual pairs from FreeDict dictd files (the code: `clweadv.data.freedict`).

  python -m clweadv.freedict DICTD_DIR OUT_DIR SRC-TGT [SRC-TGT ...]   # writes OUT_DIR/SRC-TGT.txt
"""

from absl import app

from clweadv.data.freedict import extract_pairs_to_files
from clweadv.errors import InputError, exit_on_input_error, parse_flags


def main(argv):
  def run():
    args = argv[1:]
    if len(args) < 3:
      raise InputError("usage: python -m clweadv.freedict DICTD_DIR OUT_DIR SRC-TGT [SRC-TGT ...]")
    bad = [p for p in args[2:] if len(p.split("-")) != 2 or not all(p.split("-"))]
    if bad:
      raise InputError(f"{bad[0]!r}: expected a language pair SRC-TGT, e.g. en-fr")
    extract_pairs_to_files(args[0], args[1], args[2:])
  exit_on_input_error(run)


if __name__ == "__main__":
  app.run(main, flags_parser=parse_flags)
