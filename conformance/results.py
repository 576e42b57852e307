"""What one scenario run produced: its outcome, the failure (step, location, mismatches), a
timestamped trace of the flow, time-to-consistency measurements and the analytics received."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from reports import Mismatch


class Outcome(StrEnum):
    """How a case ended (Gateway API's result kinds)."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    NOT_SUPPORTED = "not_supported"
    PROVISIONAL = "provisional"
    NOT_RUN = "not_run"
    """An interrupted run never finished the case."""
    ERROR = "error"
    """The case could not judge the adapter (a kit error, e.g. a fault it relies on never
    fired); never counted as the adapter's failure, but the run is not a success."""


@dataclass(frozen=True, slots=True)
class TraceEntry:
    """One thing that happened, ``at`` seconds after the scenario started."""

    at: float
    kind: str
    summary: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StepFailure:
    """Why a scenario failed: the step, where it is written, and what differed."""

    step_index: int
    step_name: str
    location: str
    message: str
    mismatches: tuple[Mismatch, ...] = ()

    def render(self) -> str:
        lines = [
            f"step {self.step_index + 1} '{self.step_name}' failed at {self.location}",
            f"  {self.message}",
        ]
        for mismatch in self.mismatches:
            lines.append(f"    {mismatch.field}:")
            lines.append(f"      expected: {mismatch.expected!r}")
            lines.append(f"      actual:   {mismatch.actual!r}")
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Consistency:
    """How long an ``eventually`` step took to converge."""

    step_name: str
    seconds: float
    attempts: int


@dataclass
class ScenarioResult:
    """Everything a report needs about one scenario run."""

    name: str
    path: str
    description: str
    features: list[str]
    outcome: Outcome = Outcome.PASSED
    duration_s: float = 0.0
    seed: int = 0
    failure: StepFailure | None = None
    error: str | None = None
    trace: list[TraceEntry] = field(default_factory=list)
    consistency: list[Consistency] = field(default_factory=list)
    analytics: dict[str, Any] = field(default_factory=dict)
    journal: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 1
    reason: str = ""
    late_checks: int = 0
    """Checks answered after the deployed ext_authz timeout (within the profile's grace)."""
    slowest_check_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain data (sent from pytest-xdist workers to the controller with the test report)."""
        data = asdict(self)
        data["outcome"] = self.outcome.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScenarioResult:
        data = dict(data)
        failure = data.pop("failure")
        result = cls(**{**data, "outcome": Outcome(data["outcome"])})
        result.trace = [TraceEntry(**t) for t in data["trace"]]
        result.consistency = [Consistency(**c) for c in data["consistency"]]
        if failure is not None:
            fields = {k: v for k, v in failure.items() if k != "mismatches"}
            mismatches = tuple(
                Mismatch(**{**m, "nearest": tuple(m.get("nearest", ()))})
                for m in failure["mismatches"]
            )
            result.failure = StepFailure(**fields, mismatches=mismatches)
        return result


class StepFailed(Exception):
    """Raised inside the runner when a step's expectations do not hold."""

    def __init__(self, message: str, mismatches: list[Mismatch] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.mismatches = mismatches or []
