"""`asmkit bench load`'s gRPC rows: the kit's own HTTP/2 client and grpc.aio each make real
calls to the allow-all adapter, beside one h2load run when h2load is installed."""

from __future__ import annotations

import shutil

from benchmarks.load import run_grpc
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
