"""``python -m reference_adapter [flags]``: the same as ``asmkit serve adapter [flags]``."""

from __future__ import annotations

import argparse
import sys

from reference_adapter.commands import add_serve_parser, run_command


def main(argv: list[str] | None = None) -> int:
    root = argparse.ArgumentParser(prog="python -m reference_adapter")
    sub = root.add_subparsers(dest="command")
    parser = add_serve_parser(sub)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    return run_command(args)


if __name__ == "__main__":
    sys.exit(main())
