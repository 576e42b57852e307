"""``asmkit bench whatif``: simulated requests per wall-clock second, side by side: a bare SimPy
arrivals loop (the ceiling) vs the exact engine (client-id + rate-limit), and the fast path vs
the exact engine (client-id; their metrics must be equal)."""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

import simpy

from simulator.whatif.arrivals import ArrivalStream
from simulator.whatif.engine import replication_seed, run_once
from simulator.whatif.spec import WhatIfSpec

RATE = 1000.0
DAY_S = 86_400.0
MIN_REQUESTS = 100_000

_CID = {
    "key": "cid",
    "asset_id": "client-id-enforcement",
    "configuration": {
        "clientIdExpression": "#[attributes.headers['client_id']]",
        "clientSecretExpression": "#[attributes.headers['client_secret']]",
    },
}
_RL = {
    "key": "rl",
    "asset_id": "rate-limiting",
    "configuration": {
        "rateLimits": [{"maximumRequests": 800, "timePeriodInMilliseconds": 1000}],
        "clusterizable": True,
    },
}


def workload(duration: float, rate_limit: bool, replicas: int = 1) -> WhatIfSpec:
    """Two approved clients and one unknown, Poisson at 1,000 rps, a revocation half way (so
    syncs and a change happen), default sync and analytics settings, per-replica quotas."""
    policies = [_CID, _RL] if rate_limit else [_CID]
    return WhatIfSpec.model_validate(
        {
            "name": "bench",
            "question": "how fast is the engine?",
            "duration": duration,
            "replications": 1,
            "adapter": {"replicas": replicas},
            "control_plane": {
                "apis": [{"key": "orders", "policies": policies}],
                "applications": [{"key": "mobile"}, {"key": "web"}],
                "contracts": [
                    {"application": "mobile", "api": "orders"},
                    {"application": "web", "api": "orders"},
                ],
            },
            "traffic": {
                "arrival": {"process": "poisson", "rate": RATE},
                "clients": [
                    {"application": "mobile", "api": "orders", "weight": 3},
                    {"application": "web", "api": "orders", "weight": 1},
                    {"api": "orders", "credentials": "unknown", "weight": 0.1},
                ],
            },
            "timeline": [
                {"at": duration / 2, "revoke_contract": {"application": "web", "api": "orders"}}
            ],
        }
    )


def ceiling(spec: WhatIfSpec) -> tuple[float, int]:
    """A bare SimPy run: the same arrival chunks and one periodic process, no decisions."""
    env = simpy.Environment()
    count = 0

    def ticker() -> Generator[simpy.Event, Any, None]:
        while True:
            yield env.timeout(spec.adapter.contracts_interval)

    def arrivals() -> Generator[simpy.Event, Any, None]:
        nonlocal count
        stream = ArrivalStream(
            spec.traffic.arrival,
            spec.adapter.service_time,
            [c.weight for c in spec.traffic.clients],
            spec.traffic.variants,
            1,
            replication_seed(spec, 0, 0),
        )
        horizon = env.peek()
        for chunk in stream.chunks(0.0, spec.duration):
            for t in chunk.times:
                if t >= horizon:
                    yield env.timeout(t - env.now)
                    horizon = env.peek()
                count += 1

    started = time.perf_counter()
    env.process(ticker())
    env.process(arrivals())
    env.run(until=spec.duration)
    return count / (time.perf_counter() - started), count


def _rate(spec: WhatIfSpec, fast: bool) -> tuple[float, dict[str, Any]]:
    result = run_once(spec, replication_seed(spec, 0, 0), fast=fast)
    requests = float(result.metrics["requests"] or 0)
    return requests / result.wall_s, result.metrics


def run(duration_s: float = 3.0, requests: int = 20_000) -> list[dict[str, Any]]:
    """Figures for ``max(requests, 100,000)`` simulated requests per measurement."""
    n = max(requests, MIN_REQUESTS)
    sim = n / RATE
    rl = workload(sim, rate_limit=True)
    cid = workload(sim, rate_limit=False)
    top, counted = ceiling(rl)
    exact_rl, _ = _rate(rl, fast=False)
    exact_two, _ = _rate(workload(sim, rate_limit=True, replicas=2), fast=False)
    exact_cid, exact_metrics = _rate(cid, fast=False)
    fast_cid, fast_metrics = _rate(cid, fast=True)
    fast_rl, _ = _rate(rl, fast=True)
    return [
        {
            "name": "whatif-exact",
            "figures": {
                "sim_requests_per_s": round(exact_rl),
                "requests": counted,
                "workload": "client-id + rate-limit, 1 replica (the oracle runs while it is stale)",
                "target": 250_000,
                "two_replicas_per_replica_quota_sim_requests_per_s": round(exact_two),
            },
            "baseline": {"name": "bare-simpy-arrivals", "sim_requests_per_s": round(top)},
            "ratio": round(exact_rl / top, 3),
        },
        {
            "name": "whatif-fast",
            "figures": {
                "sim_requests_per_s": round(fast_cid),
                "workload": "client-id, 1 replica",
                "equal_to_exact": fast_metrics == exact_metrics,
                "day_at_1000rps_s": round(DAY_S * RATE / fast_cid, 1),
                "rate_limit_workload_sim_requests_per_s": round(fast_rl),
            },
            "baseline": {"name": "exact-engine", "sim_requests_per_s": round(exact_cid)},
            "ratio": round(fast_cid / exact_cid, 3),
        },
    ]
