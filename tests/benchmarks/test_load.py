"""`asmkit bench load`'s gRPC rows: the kit's own HTTP/2 client and grpc.aio each make real
calls to the allow-all adapter, beside one h2load run when h2load is installed; the Locust
scaling row runs its one- and two-worker runs at the same time and, as the others, reports its
median round."""

from __future__ import annotations

import asyncio
import shutil
import threading
from typing import Any

import pytest

import benchmarks.load
from benchmarks.load import ROUNDS, _median_row, locust_scaling, run_grpc
from benchmarks.load_tools import CONCURRENCY
from simulator.settings import EnvoySettings


def test_grpc_rows_measure_the_own_client_beside_grpc_aio() -> None:
    own, aio = run_grpc(duration_s=1.0, requests=200)
    assert own["figures"]["tool"] == "asmkit (own HTTP/2)" and own["target"] == 0.5
    assert aio["figures"]["tool"] == "asmkit (grpc.aio)" and aio["target"] == 0.0
    for row in (own, aio):
        figures = row["figures"]
        # a closed loop: every worker stops once 200 calls are done (or 1 s has passed)
        assert 0 < figures["requests"] <= 200 + CONCURRENCY
        assert figures["cpu_s"] > 0 and figures["rate_per_core"] > 0
    if shutil.which("h2load") is None:
        assert own["baseline"] is None and own["ratio"] is None
    else:
        assert own["baseline"]["tool"] == "h2load" and own["baseline"]["requests"] >= 1000
        assert own["ratio"] == round(
            own["figures"]["rate_per_core"] / own["baseline"]["rate_per_core"], 3
        )
        assert len(own["round_ratios"]) == ROUNDS and own["ratio"] in own["round_ratios"]


def test_the_locust_scaling_row_is_the_median_round_of_rates() -> None:
    def run(workers: int, rate: float) -> dict[str, Any]:
        return {"tool": f"locust x{workers} at 0.5 CPU", "rate": rate}

    pairs: list[tuple[dict[str, Any] | None, dict[str, Any] | None]] = [
        (run(2, 1900.0), run(1, 1000.0)),
        (run(2, 1500.0), run(1, 1000.0)),
        ({"tool": "locust x2 at 0.5 CPU", "error": "no statistics written"}, run(1, 900.0)),
    ]
    row = _median_row("locust", pairs, 1.8, key="rate")
    assert row["round_ratios"] == [1.9, 1.5, None]
    assert (row["ratio"], row["ratio_of"], row["meets_target"]) == (1.5, "rate", False)
    missing = _median_row("locust", [(None, None)], 1.8, key="rate")  # Locust not installed
    assert missing["ratio"] is None and missing["meets_target"] is None


def test_a_row_of_rounds_reports_the_median_round() -> None:
    def kit(rate: float) -> dict[str, Any]:
        return {"tool": "asmkit", "rate_per_core": rate}

    base = {"tool": "wrk", "rate_per_core": 100.0}
    row = _median_row("r", [(kit(40.0), base), (kit(70.0), base), (kit(55.0), None)], 0.5)
    assert row["round_ratios"] == [0.4, 0.7, None]
    assert row["ratio"] == 0.4 and row["figures"]["rate_per_core"] == 40.0  # the lower of two
    row = _median_row("r", [(kit(40.0), base), (kit(70.0), base), (kit(55.0), base)], 0.5)
    assert (row["ratio"], row["meets_target"]) == (0.55, True)
    row = _median_row("r", [(kit(40.0), None)], 0.5)
    assert row["ratio"] is None and row["round_ratios"] == [None]


class _Target:
    """Stands in for the Envoy the scaling row starts (the runs below never send to it)."""

    listener_url = "http://127.0.0.1:9"

    def __init__(self, *_: object, **__: object) -> None:
        pass

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass


def test_the_locust_scaling_rounds_run_both_sides_at_the_same_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each round's one-worker and two-worker runs are in flight at once (each waits for the
    other at a barrier), so what the rest of the machine takes from one it takes from the
    other; the row is the median round."""
    both_running = threading.Barrier(2, timeout=10)
    one_worker = iter([1000.0, 1250.0, 1100.0, 1050.0, 1200.0])  # two workers: 2000 a second

    def run(url: str, workers: int, seconds: float, cap: float) -> dict[str, Any]:
        both_running.wait()  # a round run one side after the other breaks the barrier
        rate = next(one_worker) if workers == 1 else 2000.0
        return {"tool": f"locust x{workers} at {cap} CPU", "rate": rate}

    monkeypatch.setattr(benchmarks.load, "locust", run)
    monkeypatch.setattr(benchmarks.load, "RealEnvoy", _Target)
    settings = EnvoySettings(transport="http", authz_port=9, timeout_ms=1000)
    row = asyncio.run(locust_scaling(settings, 9, 1.0))
    assert row["round_ratios"] == [2.0, 1.6, 1.818, 1.905, 1.667]
    assert (row["ratio"], row["target"], row["meets_target"]) == (1.818, 1.8, True)
    assert "side by side" in row["name"]
