"""``python -m tests.fuzz [TARGET...] [--examples N]`` (what ``python3 dev.py fuzz`` runs): each
target with N random inputs (default 2,000), one line of figures per target; exit 1 if any
target found a traceback, a hang or a server error."""

from __future__ import annotations

import argparse
import logging
import sys

from tests.fuzz.harness import run
from tests.fuzz.targets import TARGETS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 dev.py fuzz", description=__doc__)
    parser.add_argument("targets", nargs="*", metavar="TARGET", help=", ".join(TARGETS))
    parser.add_argument("--examples", type=int, default=2000, help="inputs per target")
    parser.add_argument("--list", action="store_true", help="list the targets")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(TARGETS))
        return 0
    unknown = sorted(set(args.targets) - set(TARGETS))
    if unknown:
        parser.error(f"unknown targets {', '.join(unknown)}; known: {', '.join(TARGETS)}")
    logging.disable(logging.CRITICAL)  # the adapter's logs would drown the figures
    failed = False
    for name in args.targets or list(TARGETS):
        figures = run(TARGETS[name], args.examples)
        print(figures.line(), flush=True)
        failed |= not figures.ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
