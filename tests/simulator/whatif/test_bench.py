"""The what-if benchmark reports the exact engine beside its ceiling and the fast path beside
the exact engine, with equal results."""

from __future__ import annotations

from simulator.whatif.bench import run


def test_bench_rows() -> None:
    exact, fast = run(duration_s=1.0, requests=20_000)
    for row in (exact, fast):
        assert set(row) == {"name", "figures", "baseline", "ratio"}
        assert row["ratio"] > 0
    assert exact["name"] == "whatif-exact" and exact["figures"]["requests"] >= 90_000
    assert exact["baseline"]["sim_requests_per_s"] > exact["figures"]["sim_requests_per_s"]
    assert fast["figures"]["equal_to_exact"] is True
    assert fast["ratio"] > 1.0
