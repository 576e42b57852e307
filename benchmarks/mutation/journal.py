"""The records of a mutation run (one `Outcome` per mutant, the `Run` they make) and the
journal they are appended to as they come, so an interrupted run resumes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import Any

from benchmarks.mutation.operators import ROOT, Mutant


@dataclass
class Outcome:
    """One mutant's verdict."""

    mutant: Mutant
    verdict: str  # killed | survived | not-covered (an `error` job is never an Outcome)
    how: str = ""  # failed | timeout | crash
    by: str = ""
    detail: str = ""
    seconds: float = 0.0
    scenarios_run: int = 0
    covering: int = 0
    flaky: list[str] = field(default_factory=list)


@dataclass
class Run:
    """Everything one mutation run measured."""

    outcomes: list[Outcome]
    chosen: int
    """Mutants chosen; fewer have an outcome when the run stopped at its time limit."""
    baseline_seconds: list[float]
    baseline_failures: list[list[str]]
    judges: dict[str, list[str]]
    seconds: float
    workers: int


def _digest(*places: str) -> str:
    hasher = sha256()
    for place in places:
        found = [ROOT / place] if (ROOT / place).is_file() else sorted((ROOT / place).rglob("*"))
        for path in found:
            if path.suffix in (".py", ".yaml") and path.is_file():
                hasher.update(str(path.relative_to(ROOT)).encode())
                hasher.update(path.read_bytes())
    return hasher.hexdigest()[:16]


def _hides_a_kill(earlier: dict[str, Any] | None, row: dict[str, Any]) -> bool:
    """Whether ``row`` would replace a kill with the verdict of another library: a kill stays
    valid when the library changes, so a survivor judged by another library (an older
    worktree's journal merged after it, say) does not undo it."""
    if earlier is None or earlier["verdict"] != "killed" or row["verdict"] == "killed":
        return False
    return bool(row.get("library") != earlier.get("library"))


class Journal:
    """Verdicts appended as they come (``verdicts.jsonl``), so an interrupted run resumes.
    A row holds for as long as the mutated file is unchanged (an id names its change: file,
    function, operator, the text before and after). A kill stays valid when the library
    changes; a survivor is reused only while the library and the kit that runs it are
    unchanged."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "verdicts.jsonl"
        self.library = _digest("scenarios", "conformance", "live", "simulator", "fake_anypoint")
        self._code: dict[str, str] = {}

    def code(self, path: str) -> str:
        if path not in self._code:
            self._code[path] = _digest(path)
        return self._code[path]

    def read(self, mutants: list[Mutant], any_library: bool = False) -> dict[str, dict[str, Any]]:
        """The reusable verdicts of ``mutants`` (``any_library``: every verdict of the current
        code, whatever library judged it, for a report)."""
        found: dict[str, dict[str, Any]] = {}
        if not self.path.exists():
            return found
        wanted = {m.id: m for m in mutants}
        for line in self.path.read_text().splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a line cut short by an interrupted run
            mutant = wanted.get(row.get("id"))
            if mutant is None or row.get("code") != self.code(mutant.path):
                continue
            same_library = row.get("library") == self.library
            reusable = any_library or row["verdict"] == "killed" or same_library
            if reusable and not _hides_a_kill(found.get(row["id"]), row):
                found[row["id"]] = row
        return found

    def save_baseline(
        self, seconds: list[float], failures: list[list[str]], judges: dict[str, list[str]]
    ) -> None:
        """Keep the last run's baseline for a report built from the journal alone."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"seconds": seconds, "failures": failures, "judges": judges}
        self.path.with_suffix(".baseline.json").write_text(json.dumps(data))

    def baseline(self) -> dict[str, Any]:
        path = self.path.with_suffix(".baseline.json")
        loaded: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        return loaded

    def append(self, outcome: Outcome) -> None:
        row = {"id": outcome.mutant.id, "verdict": outcome.verdict, "how": outcome.how,
               "by": outcome.by, "detail": outcome.detail, "seconds": outcome.seconds,
               "scenarios_run": outcome.scenarios_run, "covering": outcome.covering,
               "flaky": outcome.flaky, "library": self.library,
               "code": self.code(outcome.mutant.path)}  # fmt: skip
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as handle:
            handle.write(json.dumps(row) + "\n")


def outcome_from_row(mutant: Mutant, row: dict[str, Any]) -> Outcome:
    """An outcome from its journal row."""
    return Outcome(mutant, row["verdict"], row.get("how", ""), row.get("by", ""),
                   row.get("detail", ""), row.get("seconds", 0.0), row.get("scenarios_run", 0),
                   row.get("covering", 0), row.get("flaky", []))  # fmt: skip
