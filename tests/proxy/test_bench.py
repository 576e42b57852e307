"""``asmkit bench proxy`` gives one row per call kind: through the proxy, direct, and the ratio."""

from __future__ import annotations

import pytest

from benchmarks import proxy as bench
from tests.proxy.helpers import require_mitm


def test_rows_compare_the_proxy_with_direct_calls() -> None:
    require_mitm()
    rows = bench.run(duration_s=0.5, requests=40)
    assert [row["name"] for row in rows] == ["proxy-sync", "proxy-ingest"]
    for row in rows:
        through, direct = row["figures"]["through_proxy"], row["baseline"]["direct"]
        assert through["errors"] == 0 and direct["errors"] == 0
        assert 0 < through["calls"] <= 40 and 0 < direct["calls"] <= 40
        assert row["ratio"] == pytest.approx(
            through["calls_per_s"] / direct["calls_per_s"], rel=0.01
        )


def test_unbounded_runs_are_refused() -> None:
    with pytest.raises(ValueError, match="both must be positive"):
        bench.run(duration_s=1, requests=0)
