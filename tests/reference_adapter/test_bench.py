"""The benchmark runs, stays bounded, and reports figures for both faces and the core."""

from __future__ import annotations

import time

from reference_adapter import bench


def test_bench_rows():
    started = time.monotonic()
    rows = bench.run(duration_s=0.5, requests=150)
    assert time.monotonic() - started < 10
    assert [r["name"].split(":")[0] for r in rows] == ["grpc", "http", "core"]
    for row in rows:
        assert set(row) == {"name", "figures", "baseline", "ratio"}
        for figures in (row["figures"], row["baseline"]):
            assert figures["errors"] == 0 and 0 < figures["checks"] <= 150
            assert figures["checks_per_s"] > 0 and figures["p99_ms"] >= figures["p50_ms"]
        assert row["ratio"] > 0
