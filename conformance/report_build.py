"""Turning scenario results into the conformance report: per-profile core and extended results
(success, partial, failure), per-case details, and library coverage."""

from __future__ import annotations

import datetime as dt
import shlex
from collections.abc import Iterable
from pathlib import Path

from asmkit import __version__
from conformance.features import PROFILES, ConformanceProfile, Feature
from conformance.options import RunOptions
from conformance.results import Outcome, ScenarioResult
from conformance.selection import claimed_features
from live.profile import AdapterProfile
from reports import (
    CaseReport,
    ConformanceReport,
    Coverage,
    Failure,
    Implementation,
    ProfileReport,
    Statistics,
    Status,
)


def case_report(result: ScenarioResult, reproduce: str) -> CaseReport:
    failure = None
    if result.failure is not None:
        f = result.failure
        failure = Failure(
            step=f.step_name,
            location=f.location,
            message=f.message,
            mismatches=f.mismatches,
        )
    return CaseReport(
        name=result.name,
        description=result.description,
        file=result.path,
        features=tuple(result.features),
        outcome=result.outcome.value,
        duration_s=result.duration_s,
        attempts=result.attempts,
        seed=result.seed,
        reason=result.reason,
        failure=failure,
        error=result.error,
        time_to_consistency=tuple((c.step_name, c.seconds) for c in result.consistency),
        trace=tuple({"at": t.at, "kind": t.kind, "summary": t.summary} for t in result.trace),
        analytics=result.analytics,
        control_plane_journal=tuple(result.journal),
        reproduce=reproduce,
        late_checks=result.late_checks,
        slowest_check_s=round(result.slowest_check_s, 4),
    )


def _status(
    cases: list[ScenarioResult], features: Iterable[str], claimed: set[str], *, core: bool
) -> Status:
    features = sorted(features)
    stats = Statistics(
        passed=sum(c.outcome == Outcome.PASSED for c in cases),
        failed=sum(c.outcome == Outcome.FAILED for c in cases),
        skipped=sum(c.outcome in (Outcome.SKIPPED, Outcome.PROVISIONAL) for c in cases),
        not_supported=sum(c.outcome == Outcome.NOT_SUPPORTED for c in cases),
        errors=sum(c.outcome == Outcome.ERROR for c in cases),
        not_run=sum(c.outcome == Outcome.NOT_RUN for c in cases),
    )
    unsupported = tuple(f for f in features if f not in claimed)
    if stats.failed:
        result = "failure"
    elif stats.errors or (core and (unsupported or stats.not_supported)):
        result = "partial"
    else:
        result = "success"
    return Status(
        result=result,
        statistics=stats,
        failed_tests=tuple(c.name for c in cases if c.outcome == Outcome.FAILED),
        error_tests=tuple(c.name for c in cases if c.outcome == Outcome.ERROR),
        skipped_tests=tuple(
            c.name
            for c in cases
            if c.outcome not in (Outcome.PASSED, Outcome.FAILED, Outcome.ERROR, Outcome.NOT_RUN)
        ),
        supported_features=tuple(f for f in features if f in claimed),
        unsupported_features=unsupported,
    )


def profile_report(
    profile: ConformanceProfile, results: list[ScenarioResult], claimed: set[str]
) -> ProfileReport:
    # a case without features (a scenario file too broken to name them) counts against the
    # first profile's core: the library as a whole
    first = profile is PROFILES[0]
    core_cases = [r for r in results if (r.features[0] in profile.core if r.features else first)]
    ext_cases = [r for r in results if r.features and r.features[0] in profile.extended]
    core = _status(core_cases, (f.value for f in profile.core), claimed, core=True)
    extended = _status(ext_cases, (f.value for f in profile.extended), claimed, core=False)
    words = {"success": "succeeded", "partial": "partially succeeded", "failure": "failed"}
    summary = f"Core tests {words[core.result]}. Extended tests {words[extended.result]}."
    return ProfileReport(profile.name, core, extended, summary)


def build_report(
    profile: AdapterProfile,
    results: list[ScenarioResult],
    options: RunOptions,
    *,
    duration_s: float,
    interrupted: bool,
    interrupted_by: str = "",
) -> ConformanceReport:
    """The report of a run: ``options`` give the data plane, the command line, and the
    command that reproduces each case."""
    claimed = claimed_features(profile)
    per_feature: dict[str, int] = {f.value: 0 for f in Feature}
    for result in results:
        for feature in result.features:
            per_feature[feature] = per_feature.get(feature, 0) + 1
    cases = tuple(case_report(r, options.reproduce(r.path)) for r in results)
    impl = profile.implementation
    return ConformanceReport(
        implementation=Implementation(
            impl.organization, impl.project, impl.version, impl.url, tuple(impl.contact)
        ),
        date=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        kit_version=__version__,
        data_plane=options.data_plane,
        ext_authz_transport=profile.ext_authz.transport,
        ext_authz_timeout_ms=round(1000 * profile.ext_authz.timeout),
        profiles=tuple(profile_report(p, results, claimed) for p in PROFILES),
        cases=cases,
        coverage=Coverage(
            cases_per_feature=per_feature,
            features_without_cases=tuple(sorted(f for f, n in per_feature.items() if n == 0)),
        ),
        duration_s=round(duration_s, 3),
        interrupted=interrupted,
        interrupted_by=interrupted_by,
        command=shlex.join(options.command),
        waivers=dict(profile.waive),
    )


def report_paths(directory: Path) -> dict[str, Path]:
    return {
        "yaml": directory / "conformance-report.yaml",
        "junit": directory / "junit.xml",
        "html": directory / "report.html",
    }
