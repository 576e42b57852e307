"""The report renderers: YAML in the Gateway API shape, JUnit for CI, self-contained HTML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from reports import (
    CaseReport,
    ConformanceReport,
    Coverage,
    Failure,
    Implementation,
    Mismatch,
    ProfileReport,
    Statistics,
    Status,
    write_html,
    write_junit,
    write_yaml,
)


def sample(*, failed: bool) -> ConformanceReport:
    status = Status(
        "failure" if failed else "success",
        Statistics(passed=1, failed=int(failed)),
        failed_tests=("b",) if failed else (),
    )
    cases = [
        CaseReport(
            "a",
            "A passes.",
            "a.scenario.yaml",
            ("client-id-enforcement",),
            "passed",
            0.5,
            1,
            0,
            time_to_consistency=(("converges", 0.42),),
        ),
        CaseReport(
            "c",
            "C is not claimed.",
            "c.scenario.yaml",
            ("cors",),
            "not_supported",
            0.0,
            1,
            0,
            reason="adapter does not claim cors",
        ),
    ]
    if failed:
        cases.append(
            CaseReport(
                "b",
                "B <fails>.",
                "b.scenario.yaml",
                ("rate-limiting",),
                "failed",
                1.0,
                2,
                7,
                failure=Failure(
                    "third request",
                    "b.scenario.yaml:31",
                    "the response did not match",
                    (Mismatch("status", 429, 200),),
                ),
                trace=({"at": 0.1, "kind": "request", "summary": "GET / -> 200 (allowed)"},),
                control_plane_journal=(
                    {"at": 0.0, "method": "GET", "path": "/x", "status": 503, "fault": "outage"},
                ),
                reproduce="asmkit conformance -k b",
            )
        )
    return ConformanceReport(
        implementation=Implementation("acme", "adapter", "1.0"),
        date="2026-11-27T00:00:00+00:00",
        kit_version="0.1.0",
        data_plane="simulated",
        ext_authz_transport="grpc",
        ext_authz_timeout_ms=200,
        profiles=(ProfileReport("asm-core", status, Status("success", Statistics()), "s"),),
        cases=tuple(cases),
        coverage=Coverage({"cors": 1, "jwt-validation": 0}, ("jwt-validation",)),
        duration_s=2.5,
        command="asmkit conformance",
    )


def test_yaml_has_gateway_api_shape(tmp_path: Path) -> None:
    data = yaml.safe_load(write_yaml(sample(failed=True), tmp_path / "r.yaml").read_text())
    assert list(data)[:3] == ["apiVersion", "kind", "result"]
    assert data["result"] == "failure"
    assert data["profiles"][0]["core"]["failedTests"] == ["b"]
    failed = data["cases"][2]
    assert failed["failure"]["mismatches"] == [{"field": "status", "expected": 429, "actual": 200}]
    assert data["cases"][0]["timeToConsistency"] == [["converges", 0.42]]
    assert data["coverage"]["featuresWithoutCases"] == ["jwt-validation"]


def test_result_success_when_nothing_failed(tmp_path: Path) -> None:
    assert sample(failed=False).result == "success"


def test_junit_counts_and_failure_text(tmp_path: Path) -> None:
    root = ET.parse(write_junit(sample(failed=True), tmp_path / "j.xml")).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")
    failure = suite.find("testcase[@name='b']/failure")
    assert failure is not None and "b.scenario.yaml:31" in (failure.text or "")
    assert "expected 429, got 200" in (failure.text or "")


def test_html_is_self_contained_and_escaped(tmp_path: Path) -> None:
    text = write_html(sample(failed=True), tmp_path / "r.html").read_text()
    assert "<script" not in text and "http" not in text.split("<body>")[0].replace(
        "https://json", ""
    )
    assert "B &lt;fails&gt;." in text
    assert "b.scenario.yaml:31" in text and "asmkit conformance -k b" in text
    assert "[fault: outage]" in text
    assert text.index("Result:") < text.index("Failures") < text.index("Cases")
