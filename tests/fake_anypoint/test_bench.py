"""The loopback benchmark returns one row per endpoint with figures, baseline and ratio."""

from __future__ import annotations

import pytest

from fake_anypoint import bench


def test_bench_rows_are_complete_and_error_free():
    rows = bench.run(duration_s=0.5, requests=64)
    assert [r["name"] for r in rows] == [
        "control-plane/token",
        "control-plane/policies",
        "control-plane/contracts_feed",
        "control-plane/analytics_ingest",
    ]
    for row in rows:
        figures, baseline = row["figures"], row["baseline"]
        assert figures["errors"] == 0 and 0 < figures["requests"] <= 64
        assert figures["rps"] > 0 and 0 < figures["p50_ms"] <= figures["p99_ms"]
        assert baseline["rps"] > 0
        assert row["ratio"] == pytest.approx(figures["rps"] / baseline["rps"], rel=0.01, abs=0.0005)


def test_bench_rejects_unbounded_runs():
    with pytest.raises(ValueError, match="both must be positive"):
        bench.run(duration_s=0, requests=10)
