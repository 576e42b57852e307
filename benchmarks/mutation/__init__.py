"""Mutation testing of the conformance suite: mutate the reference adapter (one AST change at
a time, in memory), run the scenario library against each mutant and report how many the
library kills. ``asmkit bench mutation`` is the full run; ``python -m benchmarks.mutation``
runs a sample, one file or one mutant, lists mutants and shows their diffs."""

from __future__ import annotations

import os
import sys
from typing import Any

from benchmarks.mutation.operators import ROOT

REPORT_DIR = ROOT / "build" / "reports" / "mutation"


def run(duration_s: float = 3.0, requests: int = 20_000) -> list[dict[str, Any]]:
    """The benchmark: every in-scope mutant (``--requests N`` below their number runs a seeded
    sample of N). ``ASMKIT_MUTATION_WORKERS`` mutants at a time (default 2), each with
    ``ASMKIT_MUTATION_PARALLEL`` scenarios at a time (default 4). Verdicts of an interrupted
    run are reused. ``duration_s`` does not apply."""
    from benchmarks.mutation.report import write
    from benchmarks.mutation.runner import Options, run_mutation

    options = Options(
        sample=requests,
        workers=int(os.environ.get("ASMKIT_MUTATION_WORKERS", "2")),
        parallel=int(os.environ.get("ASMKIT_MUTATION_PARALLEL", "4")),
        baseline=2,
    )
    result = run_mutation(
        options, lambda text: print(f"mutation: {text}", file=sys.stderr, flush=True)
    )
    summary = write(result, REPORT_DIR)
    baseline = summary["baseline_seconds_per_run"]
    figures = {k: summary[k] for k in (
        "kill_rate", "kill_rate_where_decided", "mutants", "killed", "killed_by_timeout",
        "killed_by_crash", "killed_sometimes",
        "equivalent",
        "survivors", "survivors_not_covered", "contract_gaps", "unobservable", "message_mutants",
        "message_killed", "flaky_kills_discarded", "seconds", "mutants_per_minute", "workers",
    )}  # fmt: skip
    figures["report"] = str(REPORT_DIR / "mutation.json")
    return [
        {
            "name": "mutation",
            "figures": figures,
            "baseline": {
                "name": "the library on the unmutated adapter (same workers)",
                "seconds": summary["baseline_seconds"],
                "failures": summary["baseline_failures"],
            },
            "ratio": round(summary["seconds"] / baseline, 2) if baseline else None,
        }
    ]
