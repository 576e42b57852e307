"""``asmkit validate``: check scenario files (schema, cross-references, features) and adapter
profiles without running anything; every problem with ``file:line:column`` and a hint."""

from __future__ import annotations

from pathlib import Path

from conformance.profile import load_profile
from conformance.validation import check_scenario_file, is_profile
from scenarios import SUFFIX
from scenarios.loader import ScenarioError


def _files(paths: list[Path]) -> tuple[list[Path], list[str]]:
    files, missing = [], []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.rglob(f"*{SUFFIX}")))
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
            if is_profile(path):
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
