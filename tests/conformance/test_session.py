"""Results survive the trip through pytest reports (xdist), and an interrupted run still writes
its report with what was recorded."""

from __future__ import annotations

from pathlib import Path

import yaml

from conformance.options import RunOptions
from conformance.results import Consistency, Outcome, ScenarioResult, StepFailure, TraceEntry
from conformance.session import ConformanceSession
from reports import Mismatch


def result() -> ScenarioResult:
    r = ScenarioResult(
        name="x",
        path="x.scenario.yaml",
        description="X.",
        features=["client-id-enforcement"],
        outcome=Outcome.FAILED,
        seed=4,
    )
    r.trace.append(TraceEntry(0.1, "request", "GET / -> 200", {"status": 200}))
    r.consistency.append(Consistency("converge", 0.3, 5))
    r.failure = StepFailure(
        0, "first", "x.scenario.yaml:9", "did not match", (Mismatch("status", 401, 200),)
    )
    return r


def test_round_trip_through_plain_data() -> None:
    original = result()
    again = ScenarioResult.from_dict(original.to_dict())
    assert again == original


def test_interrupted_run_writes_what_it_has(tmp_path: Path) -> None:
    session = ConformanceSession(RunOptions(report_dir=tmp_path))
    session.results.append(result())
    session.finish(interrupted=True)
    data = yaml.safe_load((tmp_path / "conformance-report.yaml").read_text())
    assert data["interrupted"] is True
    assert data["cases"][0]["name"] == "x"
    assert (tmp_path / "junit.xml").exists() and (tmp_path / "report.html").exists()
    assert "interrupted" in (tmp_path / "report.html").read_text()


def test_nothing_written_without_a_report_dir(tmp_path: Path) -> None:
    session = ConformanceSession(RunOptions())
    session.results.append(result())
    session.finish(interrupted=False)
    assert session.written == {}


def test_from_dict_leaves_its_input_alone() -> None:
    data = result().to_dict()
    assert ScenarioResult.from_dict(data) == ScenarioResult.from_dict(data)
