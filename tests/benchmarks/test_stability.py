"""The stability measurement's bookkeeping: a case whose verdict changes between runs is
flaky, and the report of a run with a failed case is kept as evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import stability


def test_a_changed_verdict_is_flaky_and_its_report_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    verdicts = iter([{"a": "passed", "b": "passed"}, {"a": "passed", "b": "failed"}])

    def run_library(_adapter: object, report_dir: Path, *_: object) -> dict[str, str]:
        report_dir.mkdir(parents=True)
        (report_dir / "conformance-report.yaml").write_text("cases: []\n")
        return next(verdicts)

    monkeypatch.setattr(stability, "run_library", run_library)
    monkeypatch.setattr(stability, "EVIDENCE", tmp_path / "evidence")
    result = stability.measure(2, None, hog=False)
    assert result["flaky_cases"] == 1
    assert result["flaky"] == {"b": {"passed": 1, "failed": 1}}
    assert result["failed_run_reports"] == [str(tmp_path / "evidence" / "run-1")]
    assert (tmp_path / "evidence" / "run-1" / "conformance-report.yaml").exists()
    assert not (tmp_path / "evidence" / "run-0").exists()
