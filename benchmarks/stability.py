"""Verdict stability under machine load: the whole library, run again and again with every core
saturated by an unrelated CPU hog (``stress-ng`` when installed, else busy Python processes),
must give every case the same verdict each time. Counts the cases whose outcome changed.

``python -m benchmarks.stability --runs 20 [--adapter PROFILE] [--no-hog]`` for the full
measurement; ``asmkit bench stability`` runs a short one beside an unloaded baseline.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def cpu_hog(enabled: bool = True) -> Iterator[str]:
    """Saturate every core until the block ends; yields what is loading the machine."""
    if not enabled:
        yield "none"
        return
    cores = os.cpu_count() or 1
    stress = shutil.which("stress-ng")
    if stress:
        argv = [[stress, "--cpu", str(cores), "--timeout", "7200s", "--quiet"]]
        what = f"stress-ng --cpu {cores}"
    else:
        argv = [[sys.executable, "-c", "while True: pass"] for _ in range(cores)]
        what = f"{cores} busy Python processes"
    procs = [
        subprocess.Popen(a, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for a in argv
    ]
    try:
        yield what
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


EVIDENCE = ROOT / "build" / "reports" / "stability"
"""Where the reports of runs with a failed or errored case are kept."""


def run_library(
    adapter: str | None, report_dir: Path, timeout_s: float, root: Path = ROOT
) -> dict[str, str]:
    """One ``asmkit conformance`` run of the checkout at ``root`` (its ``.venv``): each case's
    outcome by name."""
    python = root / ".venv" / "bin" / "python"
    argv = [str(python if python.exists() else sys.executable), "-m", "asmkit.cli"]
    argv += ["conformance", "--report-dir", str(report_dir)]
    if adapter:
        argv += ["--adapter", adapter]
    subprocess.run(
        argv,
        cwd=root,
        env={**os.environ, "PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=timeout_s,
        check=False,
    )
    report = yaml.safe_load((report_dir / "conformance-report.yaml").read_text())
    return {case["name"]: case["outcome"] for case in report["cases"]}


def why_failed(report_dir: Path) -> list[dict[str, str]]:
    """Each failed or errored case of a run's report: its failure message and the trace lines
    that say why a check failed (an ext_authz error names its RPC status)."""
    path = report_dir / "conformance-report.yaml"
    try:
        report = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        return [{"case": "?", "outcome": "unreadable", "why": f"{path}: {err}"}]
    out = []
    for case in report.get("cases") or []:
        if case.get("outcome") not in ("failed", "error"):
            continue
        failure = case.get("failure") or case.get("error") or {}
        message = failure.get("message", "") if isinstance(failure, dict) else str(failure)
        errors = [
            str(t.get("summary", ""))
            for t in case.get("trace") or []
            if "ext_authz error" in str(t.get("summary", ""))
        ]
        why = "; ".join([message, *errors[:3]])
        out.append({"case": str(case.get("name")), "outcome": case["outcome"], "why": why})
    return out


def measure(
    runs: int, adapter: str | None, *, hog: bool, timeout_s: float = 1800, root: Path = ROOT
) -> dict[str, Any]:
    """Run the library ``runs`` times (under a CPU hog if ``hog``): the cases whose verdict
    changed between runs, and the outcome counts of each run."""
    seen: dict[str, Counter[str]] = defaultdict(Counter)
    per_run: list[dict[str, int]] = []
    kept: list[str] = []
    failures: list[dict[str, Any]] = []
    started = time.monotonic()
    with cpu_hog(hog) as load, tempfile.TemporaryDirectory(prefix="asmkit-stability-") as tmp:
        for i in range(runs):
            outcomes = run_library(adapter, Path(tmp) / f"run-{i}", timeout_s, root)
            for name, outcome in outcomes.items():
                seen[name][outcome] += 1
            per_run.append(dict(Counter(outcomes.values())))
            if {"failed", "error"} & set(outcomes.values()):  # keep the evidence of a flake
                keep = EVIDENCE / f"run-{i}"
                shutil.rmtree(keep, ignore_errors=True)
                shutil.copytree(Path(tmp) / f"run-{i}", keep)
                kept.append(str(keep))
                failures += [{"run": i, **f} for f in why_failed(keep)]
    flaky = {name: dict(c) for name, c in sorted(seen.items()) if len(c) > 1}
    return {
        "runs": runs,
        "load": load,
        "adapter": adapter or "bundled reference adapter (in-process)",
        "cases": len(seen),
        "flaky_cases": len(flaky),
        "flaky": flaky,
        "outcomes_per_run": per_run,
        "failed_run_reports": kept,
        "failures": failures,
        "seconds_per_run": round((time.monotonic() - started) / max(1, runs), 1),
    }


def run(duration_s: float = 3.0, requests: int = 0) -> list[dict[str, Any]]:
    """``asmkit bench stability``: two loaded runs beside two unloaded ones (a short version
    of the 20-run measurement; see the module docstring)."""
    del duration_s, requests
    loaded = measure(2, None, hog=True)
    quiet = measure(2, None, hog=False)
    return [
        {
            "name": "stability",
            "figures": {
                "flaky_cases_under_load": loaded["flaky_cases"],
                "seconds_per_run_under_load": loaded["seconds_per_run"],
                "load": loaded["load"],
            },
            "baseline": {
                "flaky_cases_unloaded": quiet["flaky_cases"],
                "seconds_per_run_unloaded": quiet["seconds_per_run"],
            },
            "ratio": round(loaded["seconds_per_run"] / max(0.1, quiet["seconds_per_run"]), 2),
        }
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stability", description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--adapter", metavar="PROFILE.yaml")
    parser.add_argument("--no-hog", action="store_true", help="measure without the CPU hog")
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="the asmkit checkout to run (default: this one)"
    )
    args = parser.parse_args(argv)
    result = measure(args.runs, args.adapter, hog=not args.no_hog, root=args.root)
    print(json.dumps(result, indent=2))
    return 1 if result["flaky_cases"] else 0


if __name__ == "__main__":
    sys.exit(main())
