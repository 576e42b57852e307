"""The benchmark entry point: structure and sanity of its figures (small, bounded run)."""

from __future__ import annotations

import pytest

from simulator import bench
from simulator.real_envoy import find_envoy


@pytest.mark.envoy
def test_bench_run_shape() -> None:
    out = bench.run(duration_s=2.0, requests=150)
    assert [d["name"].split()[0] for d in out] == ["grpc", "http"]
    for entry in out:
        assert set(entry) == {"name", "figures", "baseline", "ratio"}
        figures = entry["figures"]
        assert figures["completed"] == 150 and figures["errors"] == 0
        assert figures["throughput_rps"] > 20 and 0 < figures["p50_ms"] <= figures["p99_ms"]
        assert find_envoy() is not None
        assert entry["baseline"]["completed"] == 150 and entry["baseline"]["errors"] == 0
        assert entry["ratio"] == pytest.approx(
            figures["throughput_rps"] / entry["baseline"]["throughput_rps"], rel=0.01
        )


def test_bench_rejects_bad_bounds() -> None:
    with pytest.raises(ValueError, match="requests=0"):
        bench.run(1.0, 0)
