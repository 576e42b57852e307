"""``asmkit validate``: check scenario files (schema, cross-references, features) and adapter
profiles without running anything; every problem with ``file:line:column`` and a hint."""

from __future__ import annotations

from pathlib import Path

from conformance.validation import check_scenario_file, is_profile
from live.profile import load_profile
from scenarios import SUFFIX
from scenarios.loader import ScenarioError

WHATIF_SUFFIX = ".whatif.yaml"


def _files(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """Scenario files, what-if specs and adapter profiles named or found in folders."""
    files: list[Path] = []
    missing: list[str] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.rglob("*.yaml"))
            files.extend(
                f for f in found if f.name.endswith((SUFFIX, WHATIF_SUFFIX)) or is_profile(f)
            )
        elif path.is_file():
            files.append(path)
        else:
            missing.append(f"{path}: no such file or folder")
    return files, missing


def run_validate(paths: list[Path], *, adapter: str | None = None) -> int:
    files, problems = _files(paths)
    checked = 0
    for path in files:
        checked += 1
        try:
            if path.name.endswith(WHATIF_SUFFIX):
                from simulator.whatif import load_whatif

                load_whatif(path)
            elif is_profile(path):
                load_profile(path)
            else:
                problems.extend(str(p) for p in check_scenario_file(path))
        except ScenarioError as exc:
            problems.extend(str(p) for p in exc.problems)
    if adapter:
        try:
            load_profile(Path(adapter))
        except ScenarioError as exc:
            problems.extend(str(p) for p in exc.problems)
    for problem in problems:
        print(problem)
    if problems:
        print(f"\n{len(problems)} problem(s) in {checked} file(s)")
        return 1
    print(f"{checked} file(s) valid")
    return 0
