"""Calibration: the same situation run live (real processes: fake control plane over HTTP,
reference adapters over gRPC, simulated Envoys; wall clock, short intervals) and in virtual
time must agree on the key metrics within the tolerances stated in each test.

1. Revocation with a 1 s contract-sync interval: enforcement lag within 0.1 s, wrongly
   allowed requests within 25% (+10).
2. Rate limit (20/s) on two replicas with per-replica quotas: allowed requests within 10%,
   quota overshoot within 5 requests.
3. Analytics through a 2.5 s ingest outage with a 100-event buffer: dropped within 25 events
   and delivered within 10% of the range of 20 virtual runs (the retries' jitter spreads them:
   43-91 dropped), no duplicates, worst delay within 0.8 s of theirs.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

from fake_anypoint import FaultSpec
from simulator.whatif import WhatIfSpec, replication_seed, run_once

from .helpers import base, rate_limit
from .live import Live, drive, live_stack


def virtual(spec: WhatIfSpec, replications: int = 3) -> list[dict[str, Any]]:
    return [run_once(spec, replication_seed(spec, 0, r)).metrics for r in range(replications)]


def mean(runs: list[dict[str, Any]], name: str) -> float:
    return sum(float(r[name]) for r in runs) / len(runs)


def test_revocation_with_a_short_contract_sync_interval() -> None:
    cp = base()["control_plane"]
    rate = 200.0
    marks: dict[str, float] = {}

    async def scenario() -> tuple[Live, Any]:
        async with live_stack(cp, contracts_interval=1.0, policies_interval=60.0) as live:
            adapter = live.adapters[0]
            api = live.seed.apis["orders"]
            mobile = live.seed.applications["mobile"].client_id

            def at(elapsed: float) -> None:
                now = time.monotonic()
                last = adapter.contracts_schedule.last_success or 0.0
                # revoke 0.3-0.5 s after a contracts sync: none is in flight, the next is due
                # at last + 1 s; the virtual run revokes at the same phase
                if "revoked" not in marks and elapsed >= 1.0 and 0.3 <= now - last <= 0.5:
                    live.state.set_contract_status(
                        api, live.seed.contracts["mobile/orders"], "REVOKED"
                    )
                    marks["revoked"], marks["phase"] = now, now - last
                if (
                    "revoked" in marks
                    and "enforced" not in marks
                    and mobile not in adapter.engine.contracts.table(str(api))
                ):
                    marks["enforced"] = now

            result = await drive(live, ["mobile", "web"], rate, 3.5, at=at)
            return live, result

    _, result = asyncio.run(scenario())
    revoked_at = marks["revoked"] - result.start
    live_lag = marks["enforced"] - marks["revoked"]
    live_wrong = sum(
        1 for s in result.sent if s.client == "mobile" and s.status == 200 and s.at >= revoked_at
    )
    latency = 0.005
    sync_at = 2 * (1.0 + latency)  # the virtual replica's second contracts sync after t=0
    spec = WhatIfSpec.model_validate(
        base(
            duration=5.0,
            adapter={"contracts_interval": 1.0, "policies_interval": 60.0, "random_phase": False},
            latency={"control_plane": latency},
            traffic={"arrival": {"process": "constant", "rate": rate}},
            timeline=[
                {
                    "at": sync_at + marks["phase"],
                    "revoke_contract": {"application": "mobile", "api": "orders"},
                }
            ],
        )
    )
    runs = virtual(spec)
    assert abs(live_lag - mean(runs, "enforcement_lag_s")) <= 0.1, (live_lag, runs)
    expected = mean(runs, "wrongly_allowed")
    assert abs(live_wrong - expected) <= 0.25 * expected + 10, (live_wrong, expected)


def test_rate_limit_overshoot_with_two_replicas() -> None:
    data = base()
    data["control_plane"]["apis"][0]["policies"].append(rate_limit(20))
    rate, duration = 100.0, 3.0

    async def scenario() -> Any:
        async with live_stack(data["control_plane"], replicas=2) as live:
            return await drive(live, ["mobile"], rate, duration)

    result = asyncio.run(scenario())
    live_allowed = sum(1 for s in result.sent if s.status == 200)
    assert {s.status for s in result.sent} == {200, 429}
    per_window: dict[int, int] = {}
    for s in result.sent:
        if s.status == 200:
            per_window[int(s.at)] = per_window.get(int(s.at), 0) + 1
    live_overshoot = max(v - 20 for v in per_window.values())
    spec = WhatIfSpec.model_validate(
        {
            **data,
            "duration": duration,
            "adapter": {"replicas": 2, "balancing": "round_robin"},
            "traffic": {
                "arrival": {"process": "constant", "rate": rate},
                "clients": [{"application": "mobile", "api": "orders"}],
            },
        }
    )
    runs = virtual(spec, 1)
    assert abs(live_allowed - runs[0]["allowed"]) <= 0.1 * runs[0]["allowed"], (
        live_allowed,
        runs[0]["allowed"],
    )
    assert abs(live_overshoot - runs[0]["quota_overshoot_max"]) <= 5


def test_analytics_through_an_ingest_outage() -> None:
    cp = base()["control_plane"]
    rate, traffic_s, drain_s = 50.0, 6.0, 1.5
    outage = (1.0, 3.5)

    async def scenario() -> tuple[Live, Any, int]:
        async with live_stack(
            cp,
            analytics_interval=0.5,
            analytics_batch_size=20,
            analytics_buffer=100,
        ) as live:
            start = time.monotonic()
            live.state.add_fault(
                FaultSpec(
                    data=["ingest"],
                    status=503,
                    after=start + outage[0] - time.monotonic(),
                    lasting=outage[1] - outage[0],
                )
            )
            result = await drive(live, ["mobile"], rate, traffic_s)
            await asyncio.sleep(drain_s)
            return live, result, live.adapters[0].batcher.stats.dropped

    live, _, live_dropped = asyncio.run(scenario())
    batches = live.state.analytics_batches()
    live_delivered = sum(len(b.events) for b in batches)
    live_duplicates = sum(b.duplicates for b in batches)
    live_delay = max(
        b.received_wall
        - datetime.fromisoformat(e["received_ts"].replace("Z", "+00:00")).timestamp()
        for b in batches
        for e in b.events
    )
    spec = WhatIfSpec.model_validate(
        base(
            duration=traffic_s + drain_s,
            adapter={
                "analytics_interval": 0.5,
                "analytics_batch_size": 20,
                "analytics_buffer": 100,
                "random_phase": False,
            },
            latency={"ingest": 0.005},
            traffic={"arrival": {"process": "constant", "rate": rate}, "until": traffic_s},
            timeline=[{"at": outage[0], "ingest_outage": {"duration": outage[1] - outage[0]}}],
        )
    )
    # One live run is one draw of the retries' jitter (which draws they get moves with the
    # event ids drawn before the outage, so with the machine's load): among the virtual runs
    runs = virtual(spec, replications=20)
    dropped = [float(r["analytics_dropped"]) for r in runs]
    assert min(dropped) - 25 <= live_dropped <= max(dropped) + 25, (live_dropped, dropped)
    delivered = [float(r["analytics_delivered"]) for r in runs]
    assert 0.9 * min(delivered) <= live_delivered <= 1.1 * max(delivered), (
        live_delivered,
        delivered,
    )
    assert live_duplicates == 0 and mean(runs, "analytics_duplicated") == 0
    delays = [float(r["analytics_delay_p99_s"]) for r in runs]
    assert min(delays) - 0.8 <= live_delay <= max(delays) + 0.8, (live_delay, delays)
