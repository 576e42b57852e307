"""``python -m benchmarks.mutation``: run a sample, a scope, a file or single mutants, list
mutants, or show one mutant's change. The full run is ``asmkit bench mutation``."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from benchmarks.mutation import REPORT_DIR
from benchmarks.mutation.operators import ROOT, Mutant, mutated_source
from benchmarks.mutation.scope import OPERATORS, SCOPES, all_mutants


def show(mutant: Mutant) -> str:
    """The mutant's statement before and after, with its place."""
    start, end = mutant.lines
    before = (ROOT / mutant.path).read_text().splitlines()[start - 1 : end]
    after = mutated_source(mutant.path, mutant.site).splitlines()
    lines = [mutant.id, f"{mutant.path}:{start}"]
    lines += [f"- {line}" for line in before]
    lines += [f"+ {line}" for line in after[:12]]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mutation", description=__doc__)
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument("--show", metavar="ID", help="print one mutant's change")
    parser.add_argument("--scope", choices=sorted(SCOPES), default="all", help="which files")
    parser.add_argument("--file", action="append", help="only mutants of this file (repeatable)")
    parser.add_argument("--id", action="append", help="only this mutant (repeatable)")
    parser.add_argument("--ids-from", metavar="FILE", help="only the mutants listed, one a line")
    parser.add_argument("--strings", action="store_true", help="also mutate string constants")
    parser.add_argument("--sample", type=int, help="a seeded random sample of N mutants")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", action="append", default=[], help="scenario name prefix")
    parser.add_argument("--workers", type=int, default=2, help="mutants at a time")
    parser.add_argument("--parallel", type=int, default=4, help="scenarios at a time per mutant")
    parser.add_argument("--baseline", type=int, default=1, help="unmutated library runs")
    parser.add_argument("--fresh", action="store_true", help="ignore verdicts of earlier runs")
    parser.add_argument("--minutes", type=float, help="stop starting mutants after this long")
    parser.add_argument(
        "--nice", type=int, default=19, help="the workers' niceness (0 beside a CPU hog)"
    )
    parser.add_argument(
        "--baseline-only",
        action="store_true",
        help="only run the library on the unmutated adapter (--baseline times): its flakes",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="report the journaled verdicts (the judged prefix of the order), run nothing",
    )
    return parser


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so the worker pool closes its workers' input and they exit


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _stop)
    args = _parser().parse_args(argv)
    files = tuple(args.file) if args.file else SCOPES[args.scope]
    unknown = [f for f in files if f not in SCOPES["all"]]
    if unknown:
        choices = ", ".join(SCOPES["all"])
        print(f"not a mutated file: {', '.join(unknown)}; choose from: {choices}", file=sys.stderr)
        return 2
    operators = OPERATORS | {"string"} if args.strings else OPERATORS
    ids = list(args.id or [])
    if args.ids_from:
        listed = Path(args.ids_from).read_text().splitlines()
        ids += [line.strip() for line in listed if line.strip()]
    if args.list or args.show:
        mutants = all_mutants(files, operators)
        if args.show:
            found = [m for m in mutants if m.id == args.show]
            if not found:
                print(f"no mutant {args.show!r} (see --list)", file=sys.stderr)
                return 2
            print(show(found[0]))
            return 0
        for mutant in mutants:
            print(f"{mutant.path}:{mutant.line}\t{mutant.id}")
        return 0
    from benchmarks.mutation.report import write
    from benchmarks.mutation.runner import Options, judged_prefix, run_mutation

    options = Options(
        files=files,
        operators=operators,
        ids=() if args.baseline_only else tuple(ids) if ids else None,
        sample=args.sample,
        seed=args.seed,
        only=tuple(args.only),
        workers=args.workers,
        parallel=args.parallel,
        baseline=args.baseline,
        resume=not args.fresh,
        limit_s=args.minutes * 60 if args.minutes else None,
        nice=args.nice,
    )
    say = lambda text: print(f"mutation: {text}", file=sys.stderr)  # noqa: E731
    result = judged_prefix(options, say) if args.report_only else run_mutation(options, say)
    summary = write(result, REPORT_DIR)
    print(json.dumps({k: v for k, v in summary.items() if not k.endswith("_list")}, indent=1))
    for row in summary["survivor_list"]:
        print(f"survivor {row['where']}: {row['id']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
