"""``asmkit validate``: check scenario files (schema, cross-references, features), what-if specs
and adapter profiles without running anything; every problem with ``file:line:column`` and a
hint, each file on its own (one broken file never stops the others being checked)."""

from __future__ import annotations

from pathlib import Path

from common.yaml_source import YamlSyntaxError, load_yaml
from conformance.validation import check_scenario_file, is_profile
from live.profile import load_profile
from scenarios import SUFFIX
from scenarios.problems import ScenarioError

WHATIF_SUFFIX = ".whatif.yaml"


def _found_in(folder: Path, problems: list[str], unreadable: list[Path]) -> list[Path]:
    """The files of ``folder`` to check: scenarios, what-if specs, and the other YAML files that
    are profiles; a YAML file that cannot be read at all is a problem, not skipped silently."""
    files: list[Path] = []
    for found in sorted(folder.rglob("*.yaml")):
        if found.is_dir():
            if found.name.endswith((SUFFIX, WHATIF_SUFFIX)):
                problems.append(f"{found}: a folder named like a file to check; rename it")
            continue
        if found.name.endswith((SUFFIX, WHATIF_SUFFIX)) or is_profile(found):
            files.append(found)
            continue
        try:
            load_yaml(found)
        except YamlSyntaxError as exc:
            problems.append(f"{exc} (while looking for adapter profiles)")
            unreadable.append(found)
        except OSError as exc:
            problems.append(f"{found}: cannot read it: {exc.strerror}")
            unreadable.append(found)
    return files


def _files(paths: list[Path]) -> tuple[list[Path], list[str], int]:
    """Scenario files, what-if specs and adapter profiles named or found in folders, the
    problems found on the way, and how many files were looked at."""
    files: list[Path] = []
    problems: list[str] = []
    unreadable: list[Path] = []
    for path in paths:
        if path.is_dir():
            if path.name.endswith((SUFFIX, WHATIF_SUFFIX)):
                problems.append(f"{path}: a folder, not a file; rename it or name the files in it")
                continue
            found = _found_in(path, problems, unreadable)
            if not found and not unreadable:
                problems.append(
                    f"{path}: no scenario files (*{SUFFIX}), what-if specs (*{WHATIF_SUFFIX})"
                    " or adapter profiles in this folder"
                )
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            problems.append(f"{path}: no such file or folder")
    return files, problems, len(files) + len(unreadable)


def _check(path: Path) -> list[str]:
    """Every problem in one file (none when it is valid)."""
    try:
        if path.name.endswith(WHATIF_SUFFIX):
            from simulator.whatif import load_whatif

            load_whatif(path)
        elif not path.name.endswith(SUFFIX) and is_profile(path):
            load_profile(path)
        else:
            return [str(p) for p in check_scenario_file(path)]
    except ScenarioError as exc:
        return [str(p) for p in exc.problems]
    return []


def run_validate(paths: list[Path], *, adapter: str | None = None) -> int:
    files, problems, examined = _files(paths)
    for path in files:
        problems.extend(_check(path))
    if adapter:
        try:
            load_profile(Path(adapter))
        except ScenarioError as exc:
            problems.extend(str(p) for p in exc.problems)
    for problem in problems:
        print(problem)
    if problems:
        print(f"\n{len(problems)} problem(s) in {examined} file(s)")
        return 1
    print(f"{len(files)} file(s) valid")
    return 0
