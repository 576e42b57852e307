"""`run_live_once`: one live replication. Brings up the stack for the spec, drives the virtual
replication's arrivals through it while the timeline runs live, stops the stack (the final
analytics flush lands), and turns what was observed into a `RunResult` with the same metrics as
the virtual engine (`simulator.whatif.result.assemble`), plus the live-only figures."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from common.histogram import LogHistogram
from fake_anypoint import ControlPlaneState
from live.profile import AdapterProfile
from live.stack import Stack, bring_up
from live.whatif.chaos import Chaos
from live.whatif.driver import Driver, LiveProgress, client_request
from live.whatif.plan import SeededIds, plan_for_whatif
from simulator import DataPlane
from simulator.whatif.arrivals import ArrivalStream
from simulator.whatif.counters import quota_book
from simulator.whatif.engine import replication_seeds
from simulator.whatif.judge import judge
from simulator.whatif.result import AnalyticsFigures, RunResult, assemble
from simulator.whatif.spec import WhatIfSpec
from simulator.whatif.traffic import build_pools

LIVE_METRICS: dict[str, str] = {
    "wrong_beyond_lag": "wrong decisions no state within the documented sync lag explains",
    "achieved_rate": "requests sent per second of wall time",
    "send_late_p99_ms": "99th percentile of how late the generator sent (its own lag)",
}
"""Figures only a live run has (beside the engine-independent `METRICS`)."""
SYNC_GROUPS = ("apis", "policies", "contracts")


def _router(stack: Stack, balancing: str) -> Callable[[int, int, int], DataPlane | None]:
    def route(n: int, client: int, draw: int) -> DataPlane | None:
        active = stack.replicas.active()
        if not active:
            return None
        pick = draw if balancing == "random" else n if balancing == "round_robin" else client
        return active[pick % len(active)].plane

    return route


def _analytics(
    state: ControlPlaneState,
    start_wall: float,
    end_wall: float,
    produced: int,
    bins: int,
    bin_s: float,
) -> AnalyticsFigures:
    """Delivered (first copies by event id before the end), duplicated (later copies: a batch
    retried, or an event sent twice), held at the end (what the final flush brought)."""
    seen: set[str] = set()
    delivered = duplicated = after = 0
    delays: list[float] = []
    per_bin = [0] * bins
    for batch in state.analytics_batches():
        duplicated += batch.duplicates * len(batch.events)
        for event in batch.events:
            key = str(event.get("event_id") or id(event))
            if key in seen:
                duplicated += 1
                continue
            seen.add(key)
            if batch.received_wall > end_wall:
                after += 1
                continue
            delivered += 1
            stamp = str(event.get("received_ts", "")).replace("Z", "+00:00")
            with contextlib.suppress(ValueError):
                delays.append(batch.received_wall - datetime.fromisoformat(stamp).timestamp())
            b = min(max(0, int((batch.received_wall - start_wall) / bin_s)), bins - 1)
            per_bin[b] += 1
    return AnalyticsFigures(
        produced=produced,
        delivered=delivered,
        dropped=max(0, produced - delivered - after),
        duplicated=duplicated,
        in_buffer_end=after,
        delay=LogHistogram.of([max(0.0, d) for d in delays]),
        delivered_bins=per_bin,
    )


def _sync_failures(state: ControlPlaneState, start: float, end: float) -> int:
    return sum(
        1
        for e in state.journal()
        if e.group in SYNC_GROUPS
        and start <= e.started <= end
        and (e.status == 0 or e.status >= 400)
    )


async def run_live_once(
    spec: WhatIfSpec,
    profile: AdapterProfile,
    seed: np.random.SeedSequence,
    *,
    data_plane: str = "simulated",
    log_dir: Path | None = None,
    progress: LiveProgress | None = None,
    lag_slack: float = 1.0,
) -> RunResult:
    """One live replication of ``spec`` against the adapter ``profile`` starts."""
    seeds, py_seed = replication_seeds(seed)
    book = quota_book(spec)
    bins = max(1, math.ceil(spec.duration / spec.bin))
    adds = sum(1 for e in spec.timeline if e.add_replica is not None)
    draws = spec.adapter.replicas + adds
    stream = ArrivalStream(
        spec.traffic.arrival,
        spec.adapter.service_time,
        [c.weight for c in spec.traffic.clients],
        spec.traffic.variants,
        draws if adds or any(e.remove_replica for e in spec.timeline) else spec.adapter.replicas,
        seeds[0],
    )
    stack = await bring_up(
        plan_for_whatif(spec, profile), profile, log_dir=log_dir, data_plane=data_plane
    )
    started = time.perf_counter()
    try:
        pools = build_pools(spec.traffic, SeededIds(stack.seed), py_seed)
        flat = [req for pool in pools for req in pool.requests]
        authority = {p.api_key: stack.services.get(p.api_key, p.requests[0].host) for p in pools}
        requests = [client_request(r, authority[p.api_key]) for p in pools for r in p.requests]
        driver = Driver(requests, _router(stack, spec.adapter.balancing))
        if progress is not None:
            driver.progress = progress
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.05
        start_wall, cp_start = time.time() + 0.05, stack.state.clock.now() + 0.05
        chaos = Chaos(stack, list(spec.timeline), start, driver.progress)
        chaos_task = asyncio.ensure_future(chaos.run())
        until = (
            spec.duration if spec.traffic.until is None else min(spec.traffic.until, spec.duration)
        )
        observed = await driver.run(stream, start, until, drain=driver.request_timeout + 1.0)
        rest = start + spec.duration - loop.time()
        if rest > 0:
            await asyncio.sleep(rest)
        await chaos_task
        await chaos.settle()
        end_wall, cp_end = time.time(), stack.state.clock.now()
    finally:
        await stack.down()
    wall = time.perf_counter() - started
    verdict = judge(spec, flat, observed, chaos.applied, book, bins, lag_slack=lag_slack)
    produced = sum(1 for o in observed if o.t >= spec.warmup and o.outcome != "error")
    result = assemble(
        spec.bin,
        verdict.counters,
        book,
        [p.label for p in pools],
        verdict.changes,
        _analytics(stack.state, start_wall, end_wall, produced, bins, spec.bin),
        latency=driver.progress.latency,
        sync_failures=_sync_failures(stack.state, cp_start, cp_end),
        utilisation=None,
    )
    late = driver.progress.lateness.percentile(99)
    extra: dict[str, float | None] = {
        "wrong_beyond_lag": verdict.wrong_beyond_lag,
        "achieved_rate": len(observed) / until if until > 0 else None,
        "send_late_p99_ms": None if late is None else late * 1000.0,
    }
    result.metrics.update(extra)
    result.warnings = list(chaos.errors)
    result.wall_s = wall
    return result


def summary_line(result: RunResult) -> dict[str, Any]:
    m = result.metrics
    return {k: m.get(k) for k in ("requests", "wrongly_allowed", "errors", "wrong_beyond_lag")}
