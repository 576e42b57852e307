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
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from common.histogram import LogHistogram
from fake_anypoint import ControlPlaneState
from live.profile import AdapterProfile
from live.stack import Stack, bring_up
from live.whatif.capacity import capacity_of
from live.whatif.chaos import Chaos
from live.whatif.driver import Driver, LiveProgress, client_request
from live.whatif.plan import SeededIds, plan_for_whatif, unpassable
from simulator import ClientRequest, DataPlane
from simulator.whatif.arrivals import ArrivalStream
from simulator.whatif.counters import quota_book
from simulator.whatif.engine import replication_seeds
from simulator.whatif.judge import Observed, Verdict, judge
from simulator.whatif.result import AnalyticsFigures, RunResult, assemble
from simulator.whatif.spec import WhatIfSpec
from simulator.whatif.traffic import Request, build_pools

LIVE_METRICS: dict[str, str] = {
    "wrong_beyond_lag": "wrong decisions no state within the documented sync lag explains",
    "intended_rate": "requests per second the arrivals asked for (over the traffic window)",
    "achieved_rate": "requests per second the generator really sent them at",
    "send_late_p99_ms": "99th percentile of how late the generator sent (its own lag)",
    "adapter_p99_ms": "99th percentile of the time from sending to the answer",
    "generator_bound": "1 when the generator, not the adapter, was the bottleneck",
}
"""Figures only a live run has (beside the engine-independent `METRICS`)."""
SYNC_DATA = ("apis", "policies", "contracts")


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
    # a check that timed out at Envoy may still have been decided: its event was produced too
    produced = max(produced, delivered + after)
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
    """Failed calls for APIs, policies or contracts (a sync stops at its first failure)."""
    failed = 0
    for e in state.journal():
        if start <= e.started <= end and (e.status == 0 or e.status >= 400):
            failed += any(kind in SYNC_DATA for kind in e.data)
    return failed


class InProcessLoad:
    """The kit's own generator (`Driver`) in this process, on this event loop."""

    def __init__(self) -> None:
        self.progress = LiveProgress()
        self._task: asyncio.Task[list[Observed]] | None = None

    async def begin(self, stack: Stack, feed: Feed) -> float:
        driver = Driver(feed.requests, _router(stack, feed.spec.adapter.balancing))
        driver.progress = self.progress
        start = asyncio.get_running_loop().time() + 0.05
        drain = driver.request_timeout + 1.0
        self._task = asyncio.ensure_future(driver.run(feed.stream, start, feed.until, drain))
        return start

    async def end(self) -> list[Observed]:
        assert self._task is not None, "begin() first"
        return await self._task


@dataclass
class Feed:
    """What a load sends: the spec, the requests by pool index (as the client sends them and
    as the adapter sees them), the arrivals and when traffic stops."""

    spec: WhatIfSpec
    requests: list[ClientRequest]
    checks: list[Request]
    stream: ArrivalStream
    until: float


class Load(Protocol):
    """A load generator for a live run: `begin` returns the start (loop time) once requests
    flow from it; `end` returns the observations."""

    progress: LiveProgress

    async def begin(self, stack: Stack, feed: Feed) -> float: ...

    async def end(self) -> list[Observed]: ...


def _beyond_lag_warning(verdict: Verdict) -> list[str]:
    """A sentence naming the first wrong decisions no documented sync lag explains."""
    if not verdict.wrong_beyond_lag:
        return []
    first = "; ".join(verdict.beyond_lag_examples)
    return [f"{verdict.wrong_beyond_lag} wrong decisions beyond the sync lag, first: {first}"]


def arrivals(spec: WhatIfSpec, seed: np.random.SeedSequence) -> ArrivalStream:
    """The virtual replication's arrival stream (``seed``: its first stream,
    `replication_seeds`' ``[0]``)."""
    adds = sum(1 for e in spec.timeline if e.add_replica is not None)
    scaling = adds or any(e.remove_replica for e in spec.timeline)
    return ArrivalStream(
        spec.traffic.arrival,
        spec.adapter.service_time,
        [c.weight for c in spec.traffic.clients],
        spec.traffic.variants,
        spec.adapter.replicas + adds if scaling else spec.adapter.replicas,
        seed,
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
    load: Load | None = None,
) -> RunResult:
    """One live replication of ``spec`` against the adapter ``profile`` starts; ``load``
    drives it (default: `InProcessLoad`). Long on purpose: one replication's lifecycle (stack,
    chaos, load, judge) reads top to bottom in one place."""
    seeds, py_seed = replication_seeds(seed)  # once: spawning again gives other streams
    load = load or InProcessLoad()
    if progress is not None:
        load.progress = progress
    book = quota_book(spec)
    bins = max(1, math.ceil(spec.duration / spec.bin))
    plan = plan_for_whatif(spec, profile)
    stack = await bring_up(plan, profile, log_dir=log_dir, data_plane=data_plane)
    started = time.perf_counter()
    try:
        pools = build_pools(spec.traffic, SeededIds(stack.seed), py_seed)
        flat = [req for pool in pools for req in pool.requests]
        authority = {p.api_key: stack.services.get(p.api_key, p.requests[0].host) for p in pools}
        requests = [client_request(r, authority[p.api_key]) for p in pools for r in p.requests]
        traffic_end = spec.traffic.until
        until = spec.duration if traffic_end is None else min(traffic_end, spec.duration)
        feed = Feed(spec, requests, flat, arrivals(spec, seeds[0]), until)
        loop = asyncio.get_running_loop()
        start = await load.begin(stack, feed)
        start_wall = time.time() + (start - loop.time())
        cp_start = stack.state.clock.now() + (start - loop.time())
        chaos = Chaos(stack, list(spec.timeline), start, load.progress)
        chaos_task = asyncio.ensure_future(chaos.run())
        observed = await load.end()
        rest = start + spec.duration - loop.time()
        if rest > 0:
            await asyncio.sleep(rest)
        await chaos_task
        await chaos.settle()
        end_wall, cp_end = time.time(), stack.state.clock.now()
    finally:
        await stack.down()
    verdict = judge(spec, flat, observed, chaos.applied, book, bins, lag_slack=lag_slack)
    produced = sum(1 for o in observed if o.t >= spec.warmup and o.outcome != "error")
    result = assemble(
        spec.bin,
        verdict.counters,
        book,
        [p.label for p in pools],
        verdict.changes,
        _analytics(stack.state, start_wall, end_wall, produced, bins, spec.bin),
        latency=load.progress.latency,
        sync_failures=_sync_failures(stack.state, cp_start, cp_end),
        utilisation=None,
    )
    result.metrics.update(
        {"wrong_beyond_lag": verdict.wrong_beyond_lag, **_capacity(feed, observed, load)}
    )
    result.warnings = [
        *chaos.errors,
        *_beyond_lag_warning(verdict),
        *(f"not passed to the adapter: {r}" for r in unpassable(spec, profile)),
    ]
    result.wall_s = time.perf_counter() - started
    return result


def _capacity(feed: Feed, observed: list[Observed], load: Load) -> dict[str, Any]:
    answers = load.progress.answer
    cap = capacity_of(observed, feed.until, answers if answers.total else None)
    if cap is None:
        return dict.fromkeys(("intended_rate", "achieved_rate", "send_late_p99_ms"))
    return {
        "intended_rate": cap.intended_rate,
        "achieved_rate": cap.achieved_rate,
        "send_late_p99_ms": cap.send_late_p99_ms,
        "adapter_p99_ms": cap.adapter_p99_ms,
        "generator_bound": int(cap.generator_bound),
    }


def summary_line(result: RunResult) -> dict[str, Any]:
    m = result.metrics
    return {k: m.get(k) for k in ("requests", "wrongly_allowed", "errors", "wrong_beyond_lag")}
