"""Which scenarios execute which lines of the reference adapter: the library run once per
profile under coverage.py, one measurement per scenario. A mutant is run only against the
scenarios that execute its statement (a line no scenario runs cannot change a verdict).
Cached under ``build/mutation/`` by a digest of the adapter's and the library's files."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.mutation.operators import ROOT

CACHE = ROOT / "build" / "mutation"


@dataclass(frozen=True, slots=True)
class ScenarioCoverage:
    """One scenario's run on the unmutated adapter: outcome, seconds and executed lines."""

    name: str
    outcome: str
    seconds: float
    lines: dict[str, frozenset[int]]


def library_names(profile: str) -> list[str]:
    """The library's scenarios the profile runs (its transport, its features, its needs; not
    provisional)."""
    from benchmarks.mutation.worker import PROFILES
    from conformance.selection import not_run
    from live.profile import load_profile
    from scenarios import LIBRARY, SUFFIX, load_scenario

    loaded = load_profile(PROFILES[profile])
    names = []
    for path in sorted(LIBRARY.rglob(f"*{SUFFIX}")):
        scenario = load_scenario(path).scenario
        if not_run(scenario, loaded) is None:  # as a conformance run of the profile decides
            names.append(f"{path.parent.relative_to(LIBRARY)}/{scenario.name}")
    return names


def digest(profile: str) -> str:
    """Changes whenever the adapter or the kit that runs scenarios changes (not when a
    scenario is added or edited: each scenario's own text is part of its cache entry)."""
    hasher = hashlib.sha256(profile.encode())
    for folder in ("reference_adapter", "conformance", "live", "simulator", "fake_anypoint"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in (".py", ".yaml") and path.is_file():
                hasher.update(str(path.relative_to(ROOT)).encode())
                hasher.update(path.read_bytes())
    return hasher.hexdigest()[:16]


def _scenario_digest(name: str) -> str:
    from scenarios import LIBRARY, SUFFIX

    return hashlib.sha256((LIBRARY / f"{name}{SUFFIX}").read_bytes()).hexdigest()[:16]


def measure(profile: str, names: list[str]) -> list[dict[str, Any]]:
    """Run ``names`` under coverage in this process (call in a fresh child)."""
    import coverage

    from benchmarks.mutation.worker import PROFILES
    from conformance.runner import run_scenario
    from live.profile import load_profile
    from scenarios import LIBRARY, load_scenario

    logging.disable(logging.CRITICAL)
    loaded = load_profile(PROFILES[profile])
    adapter_dir = ROOT / "reference_adapter"
    rows = []
    for name in names:
        source = load_scenario(LIBRARY / f"{name}.scenario.yaml")
        cov = coverage.Coverage(data_file=None, include=[f"{adapter_dir}/*"], config_file=False)
        cov.start()
        try:
            result = asyncio.run(run_scenario(source, loaded))
        finally:
            cov.stop()
        data = cov.get_data()
        lines = {
            str(Path(f).relative_to(ROOT)): sorted(data.lines(f) or ())
            for f in data.measured_files()
        }
        rows.append(
            {
                "name": name,
                "outcome": result.outcome.value,
                "seconds": result.duration_s,
                "lines": lines,
            }
        )
    return rows


def _measured(profile: str, names: list[str], runs: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.mutation.coverage_map", profile],
            input=json.dumps(names),
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        )
        rows.extend(json.loads(done.stdout))
    return rows


def coverage_for(profile: str, runs: int = 1) -> list[ScenarioCoverage]:
    """The per-scenario coverage of ``profile``: the union of ``runs`` runs (lines a timing
    difference skips in one run still count), the slowest duration, and ``failed`` if any run
    failed. Cached per scenario: only new or edited scenarios are measured again."""
    path = CACHE / f"coverage-{profile}-{digest(profile)}-x{runs}.json"
    cached: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    names = library_names(profile)
    stale = [n for n in names if cached.get(n, {}).get("digest") != _scenario_digest(n)]
    if stale:
        for name in stale:
            cached[name] = {"digest": _scenario_digest(name), "rows": []}
        for row in _measured(profile, stale, runs):
            cached[row["name"]]["rows"].append(row)
        CACHE.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(cached))
    merged: dict[str, ScenarioCoverage] = {}
    for row in (r for n in names for r in cached[n]["rows"]):
        lines = {f: frozenset(v) for f, v in row["lines"].items()}
        old = merged.get(row["name"])
        if old is not None:
            lines = {f: old.lines.get(f, frozenset()) | lines.get(f, frozenset())
                     for f in set(old.lines) | set(lines)}  # fmt: skip
        outcome = row["outcome"] if old is None or old.outcome == "passed" else old.outcome
        seconds = max(row["seconds"], old.seconds if old else 0.0)
        merged[row["name"]] = ScenarioCoverage(row["name"], outcome, seconds, lines)
    return list(merged.values())


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], json.loads(sys.stdin.read()))))
