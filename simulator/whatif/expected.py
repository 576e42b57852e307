"""The library's committed expected summaries: ``<name>.expected.yaml`` beside each
``<name>.whatif.yaml``. ``python -m simulator.whatif.expected [--write] [SPEC...]`` checks (or
rewrites) them; the test suite compares them too."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from simulator.whatif.loader import SUFFIX, load_whatif
from simulator.whatif.runner import run_whatif, summary

LIBRARY = Path(__file__).resolve().parents[2] / "scenarios" / "whatif"
EXPECTED_SUFFIX = ".expected.yaml"


def library_specs() -> list[Path]:
    return sorted(LIBRARY.glob(f"*{SUFFIX}"))


def expected_path(spec: Path) -> Path:
    return spec.with_name(spec.name.removesuffix(SUFFIX) + EXPECTED_SUFFIX)


def current_summary(spec: Path) -> dict[str, Any]:
    """Run a library spec as committed (the fast path: equal results) and summarise it."""
    return summary(run_whatif(load_whatif(spec), fast=True))


def dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, width=100)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator.whatif.expected")
    parser.add_argument("specs", nargs="*", type=Path, help="default: the whole library")
    parser.add_argument("--write", action="store_true", help="rewrite the expected summaries")
    args = parser.parse_args(argv)
    failed = 0
    for spec in args.specs or library_specs():
        data = current_summary(spec)
        path = expected_path(spec)
        if args.write:
            path.write_text(dump(data), encoding="utf-8")
            print(f"wrote {path}")
        elif not path.exists() or yaml.safe_load(path.read_text(encoding="utf-8")) != data:
            print(f"{spec}: differs from {path}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
