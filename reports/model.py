"""The conformance report, modelled on the Gateway API ``ConformanceReport``: who was tested,
when, with which kit, per-profile core/extended results, and every case's outcome. Plain
dataclasses; renderers live beside this module."""

from __future__ import annotations

from dataclasses import dataclass, field
from dataclasses import field as dc_field
from typing import Any

API_VERSION = "asmkit.dev/v1alpha1"
KIND = "ConformanceReport"

RESULT_SUCCESS = "success"
RESULT_PARTIAL = "partial"
RESULT_FAILURE = "failure"
RESULT_INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class Implementation:
    """The adapter under test, as its profile names it."""

    organization: str
    project: str
    version: str
    url: str = ""
    contact: tuple[str, ...] = ()


@dataclass(frozen=True)
class Statistics:
    """Counts of case outcomes within one part (core or extended) of a profile."""

    passed: int = 0
    failed: int = 0
    skipped: int = 0
    not_supported: int = 0
    errors: int = 0
    not_run: int = 0
    """Cases an interrupted run never finished."""


@dataclass(frozen=True)
class Status:
    """One part of a profile: its result (success, partial or failure) and why."""

    result: str
    statistics: Statistics
    failed_tests: tuple[str, ...] = ()
    error_tests: tuple[str, ...] = ()
    skipped_tests: tuple[str, ...] = ()
    supported_features: tuple[str, ...] = ()
    unsupported_features: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProfileReport:
    """A conformance profile's results: core features must all pass; extended if claimed."""

    name: str
    core: Status
    extended: Status
    summary: str


@dataclass(frozen=True)
class Mismatch:
    """An expected-vs-actual difference. ``nearest``: for expectations on a set (analytics
    events), the received items closest to the expectation, each with its field-by-field
    differences (``{"event": ..., "differences": [{"field", "expected", "received"}]}``)."""

    field: str
    expected: Any
    actual: Any
    nearest: tuple[dict[str, Any], ...] = dc_field(default=(), metadata={"omit_empty": True})

    def __str__(self) -> str:
        return f"{self.field}: expected {self.expected!r}, got {self.actual!r}"

    def first_difference(self) -> str:
        """The nearest received item's first differing field, in one phrase (or "")."""
        if not self.nearest or not self.nearest[0].get("differences"):
            return ""
        d = self.nearest[0]["differences"][0]
        return (
            f"nearest event differs in {d['field']}:"
            f" expected {d['expected']!r}, got {d['received']!r}"
        )


@dataclass(frozen=True)
class Failure:
    """Where and how a case failed."""

    step: str
    location: str
    message: str
    mismatches: tuple[Mismatch, ...] = ()


@dataclass(frozen=True)
class CaseReport:
    """One scenario's outcome and everything needed to debug it."""

    name: str
    description: str
    file: str
    features: tuple[str, ...]
    outcome: str
    duration_s: float
    attempts: int
    seed: int
    reason: str = ""
    failure: Failure | None = None
    error: str | None = None
    time_to_consistency: tuple[tuple[str, float], ...] = ()
    trace: tuple[dict[str, Any], ...] = ()
    analytics: dict[str, Any] = field(default_factory=dict)
    control_plane_journal: tuple[dict[str, Any], ...] = ()
    reproduce: str = ""
    late_checks: int = 0
    """Checks the adapter answered after the deployed ext_authz timeout: applied, so the
    verdict does not depend on machine load, but Envoy would have answered status_on_error."""
    slowest_check_s: float = 0.0


@dataclass(frozen=True)
class Coverage:
    """Which features the scenario library exercises, and with how many cases."""

    cases_per_feature: dict[str, int]
    features_without_cases: tuple[str, ...]


@dataclass(frozen=True)
class ConformanceReport:
    """The whole report (``conformance-report.yaml``)."""

    implementation: Implementation
    date: str
    kit_version: str
    data_plane: str
    ext_authz_transport: str
    ext_authz_timeout_ms: int
    profiles: tuple[ProfileReport, ...]
    cases: tuple[CaseReport, ...]
    coverage: Coverage
    duration_s: float
    interrupted: bool = False
    interrupted_by: str = field(default="", metadata={"omit_empty": True})
    """The signal that cut the run short (SIGINT, SIGTERM), when one did."""
    command: str = ""
    waivers: dict[str, str] = field(default_factory=dict)
    """Kit conventions the profile waived, each with its reason."""
    api_version: str = API_VERSION
    kind: str = KIND

    @property
    def not_run(self) -> tuple[str, ...]:
        """The cases an interrupted run did not finish."""
        return tuple(c.name for c in self.cases if c.outcome == "not_run")

    @property
    def result(self) -> str:
        """Interrupted if the run was cut short (whatever the cases that ran say); failure if
        any claimed feature failed; partial if some core features are not supported; success
        otherwise."""
        if self.interrupted:
            return RESULT_INTERRUPTED
        results = [p.core.result for p in self.profiles] + [
            p.extended.result for p in self.profiles
        ]
        if RESULT_FAILURE in results:
            return RESULT_FAILURE
        return RESULT_PARTIAL if RESULT_PARTIAL in results else RESULT_SUCCESS
