"""``asmkit bench envoy``: simulated Envoy vs real Envoy 1.40, each in front of the reference
adapter (client-id-enforcement + rate-limiting, synced from the fake control plane) and the echo
upstream, for gRPC and HTTP ext_authz, side by side in one run."""

from __future__ import annotations

import asyncio
from typing import Any

from simulator.bench import bench

CHILD = "from benchmarks.reference_stack import serve_forever; serve_forever()"


def run(duration_s: float = 3.0, requests: int = 20_000) -> list[dict[str, Any]]:
    return asyncio.run(bench(duration_s, requests, child=CHILD, adapter="reference"))
