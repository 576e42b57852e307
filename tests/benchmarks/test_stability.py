"""The stability measurement's bookkeeping: a case whose verdict changes between runs is
flaky, and the report of a run with a failed case is kept as evidence."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from benchmarks import stability


def test_a_changed_verdict_is_flaky_and_its_report_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    verdicts = iter([{"a": "passed", "b": "passed"}, {"a": "passed", "b": "failed"}])

    def run_library(_adapter: object, report_dir: Path, *_: object) -> dict[str, str]:
        report_dir.mkdir(parents=True)
        outcomes = next(verdicts)
        cases = [
            {
                "name": name,
                "outcome": outcome,
                "failure": {"message": "the response did not match"},
                "trace": [
                    {"summary": "client GET /orders -> ext_authz error (rpc UNAVAILABLE: x)"},
                    {"summary": "client GET /orders -> ext_authz allowed -> client 200"},
                ],
            }
            for name, outcome in outcomes.items()
        ]
        (report_dir / "conformance-report.yaml").write_text(yaml.safe_dump({"cases": cases}))
        return outcomes

    monkeypatch.setattr(stability, "run_library", run_library)
    monkeypatch.setattr(stability, "EVIDENCE", tmp_path / "evidence")
    result = stability.measure(2, None, hog=False)
    assert result["flaky_cases"] == 1
    assert result["flaky"] == {"b": {"passed": 1, "failed": 1}}
    assert result["failed_run_reports"] == [str(tmp_path / "evidence" / "run-1")]
    assert (tmp_path / "evidence" / "run-1" / "conformance-report.yaml").exists()
    assert not (tmp_path / "evidence" / "run-0").exists()
    # why, without opening the kept report: the failure and the check that went wrong
    assert result["failures"] == [
        {
            "run": 1,
            "case": "b",
            "outcome": "failed",
            "why": "the response did not match; client GET /orders -> ext_authz error"
            " (rpc UNAVAILABLE: x)",
        }
    ]
