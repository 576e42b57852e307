"""`asmkit bench load`'s gRPC rows: the kit's own HTTP/2 client and grpc.aio each make real
calls to the allow-all adapter, beside one h2load run when h2load is installed; the Locust
scaling row reports each side's faster run."""

from __future__ import annotations

import shutil
from typing import Any

from benchmarks.load import ROUNDS, _faster, _median_row, run_grpc
from benchmarks.load_tools import CONCURRENCY


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


def test_the_locust_scaling_row_takes_each_sides_faster_run() -> None:
    runs: list[dict[str, Any] | None] = [
        {"tool": "locust x2 at 0.5 CPU", "rate": 11_000.0},
        {"tool": "locust x2 at 0.5 CPU", "error": "no statistics written"},
        {"tool": "locust x2 at 0.5 CPU", "rate": 12_500.0},
    ]
    best = _faster(runs)
    assert best is not None and best["rate"] == 12_500.0
    assert best["runs"] == [11_000.0, None, 12_500.0]
    assert best["failed_runs"] == ["no statistics written"]
    failed = _faster([{"tool": "x", "error": "no cgroup cpu controller"}] * 2)
    assert failed is not None and failed["error"] == "no cgroup cpu controller"
    assert _faster([None, None]) is None  # Locust is not installed


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
