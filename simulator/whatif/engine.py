"""`run_once`: one replication in virtual time. SimPy runs the replicas' sync and analytics
loops, the timeline and the traffic process (`hotloop`); ``fast=True`` memoises stateless
decisions between events (same results, fewer decision calls)."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Generator
from typing import Any

import numpy as np
import simpy

from common.histogram import LogHistogram
from simulator.whatif.arrivals import ArrivalStream
from simulator.whatif.controlplane import ControlPlaneModel, VirtualClock
from simulator.whatif.counters import TrafficCounters, quota_book
from simulator.whatif.hotloop import TrafficInputs, traffic
from simulator.whatif.ingest import IngestModel
from simulator.whatif.oracle import Oracle
from simulator.whatif.recorder import Recorder
from simulator.whatif.replica import Replica
from simulator.whatif.result import AnalyticsFigures, ChangeLag, RunResult, assemble
from simulator.whatif.spec import WhatIfSpec
from simulator.whatif.timeline import PROCESS_EVENTS, TimelineEvent
from simulator.whatif.traffic import build_pools
from simulator.whatif.windows import FastWindows, RedisStore


class _Run:
    """The state of one replication: the SimPy environment, the control plane, the replicas,
    the oracle and the hot loop's inputs."""

    def __init__(self, spec: WhatIfSpec, seed: np.random.SeedSequence, fast: bool) -> None:
        self.spec = spec
        self.env = simpy.Environment()
        self.bins = max(1, math.ceil(spec.duration / spec.bin))
        seeds, py_seed = replication_seeds(seed)
        self.cp = ControlPlaneModel(spec.control_plane, VirtualClock(self.env), spec.seed)
        self.recorder = Recorder(spec.adapter.replicas, self.bins, spec.bin)
        self.ingest = IngestModel(self.bins, spec.bin)
        events = [e.action for e in spec.timeline]
        self.redis = RedisStore() if "redis_outage" in events else None
        shared: FastWindows | RedisStore | None = None
        if spec.adapter.quota == "shared":
            shared = self.redis or FastWindows()
        self.scaling = "add_replica" in events or "remove_replica" in events
        total = spec.adapter.replicas + events.count("add_replica")
        self.replicas = [
            Replica(
                i,
                self.env,
                spec,
                self.cp,
                random.Random(py_seed + i),
                self.recorder,
                self.ingest,
                shared,
                started=i < spec.adapter.replicas,
            )
            for i in range(total)
        ]
        self.oracle = Oracle(self.cp, self.replicas)
        pools = build_pools(spec.traffic, self.cp, py_seed)
        self.labels = [p.label for p in pools]
        self.book = quota_book(spec)
        self.inputs = TrafficInputs(
            spec=spec,
            env=self.env,
            replicas=self.replicas,
            oracle=self.oracle,
            pools=[p.requests for p in pools],
            stream=ArrivalStream(
                spec.traffic.arrival,
                spec.adapter.service_time,
                [c.weight for c in spec.traffic.clients],
                spec.traffic.variants,
                total if self.scaling else spec.adapter.replicas,
                seeds[0],
            ),
            quotas=self.book,
            bins=self.bins,
            fast=fast,
            latency=LogHistogram(),
            scaling=self.scaling,
        )

    # ---- processes ----

    def timeline(self) -> Generator[simpy.Event, Any, None]:
        env = self.env
        for event in sorted(self.spec.timeline, key=lambda e: e.at):
            yield env.timeout(event.at - env.now)
            if event.action in PROCESS_EVENTS:
                self._process_event(event)
            elif event.redis_outage is not None:
                env.process(self._redis_outage(event.redis_outage.duration))
            else:
                kind = self.cp.apply(event)
                if kind is not None:
                    active = frozenset(r.index for r in self.replicas if r.active)
                    self.recorder.change(event.label, float(env.now), kind, self.cp.rev, active)

    def _process_event(self, event: TimelineEvent) -> None:
        if event.adapter_restart is not None:
            restart = event.adapter_restart
            targets = self.replicas if restart.replica is None else [self.replicas[restart.replica]]
            for replica in targets:
                if replica.up and replica.active:
                    self.env.process(
                        replica.restart(restart.downtime, graceful=restart.signal == "term")
                    )
        elif event.add_replica is not None:
            idle = next(r for r in self.replicas if not r.active and r.generation == 0)
            idle.launch()
        elif event.remove_replica is not None:
            index = event.remove_replica.replica
            if index is None:
                index = max(r.index for r in self.replicas if r.active)
            replica = self.replicas[index]
            if replica.active:
                replica.active = False
                if replica.up:
                    replica.stop(graceful=True)

    def _redis_outage(self, duration: float) -> Generator[simpy.Event, Any, None]:
        assert self.redis is not None
        self.redis.up = False
        yield self.env.timeout(duration)
        self.redis.up = True

    # ---- results ----

    def result(self, counters: TrafficCounters) -> RunResult:
        spec, rec, ing = self.spec, self.recorder, self.ingest
        a = spec.adapter
        held_end = sum(r.finish() for r in self.replicas)
        until = spec.traffic.until
        busy_for = spec.duration if until is None else min(until, spec.duration)
        capacity = a.workers * a.replicas * busy_for
        return assemble(
            spec.bin,
            counters,
            self.book,
            self.labels,
            [ChangeLag(c.label, c.at, c.kind, c.lag()) for c in rec.changes],
            AnalyticsFigures(
                produced=rec.recorded,
                delivered=ing.delivered,
                dropped=rec.dropped_full + rec.lost_on_restart + rec.rejected,
                duplicated=ing.duplicated,
                in_buffer_end=held_end,
                delay=ing.delay,
                delivered_bins=ing.per_bin,
                held_bins=rec.held_series,
                high_water=rec.high_water,
            ),
            latency=self.inputs.latency,
            sync_failures=rec.sync_failures,
            utilisation=counters.busy / capacity if capacity else None,
        )


def config_errors(run: _Run) -> list[str]:
    """Policies the reference adapter cannot configure (their API answers 503 throughout)."""
    out = []
    for api_id, api in run.oracle.engine.status()["apis"].items():
        if api.get("config_error"):
            out.append(f"API {api_id}: {api['config_error']}")
    return out


def run_once(spec: WhatIfSpec, seed: np.random.SeedSequence, *, fast: bool = False) -> RunResult:
    """Run one replication of ``spec`` with ``seed``; ``fast`` gives the same result sooner
    when every policy chain is stateless."""
    started = time.perf_counter()
    run = _Run(spec, seed, fast)
    run.env.process(run.timeline())
    process = run.env.process(traffic(run.inputs))
    run.env.run(until=spec.duration)
    if not process.triggered:  # pragma: no cover - traffic ends before the run does
        raise RuntimeError(f"what-if {spec.name}: the traffic process did not finish")
    result = run.result(process.value)
    result.warnings = config_errors(run)
    result.wall_s = time.perf_counter() - started
    return result


def replication_seed(spec: WhatIfSpec, point: int, replication: int) -> np.random.SeedSequence:
    """The seed of one replication: the spec's seed, the sweep point and the replication."""
    return np.random.SeedSequence([spec.seed, point, replication])


def replication_seeds(
    seed: np.random.SeedSequence,
) -> tuple[list[np.random.SeedSequence], int]:
    """The streams of one replication: ``[arrivals, ...]`` and the integer seed of the request
    pools and replica RNGs. The live engine draws the same, so a live replication sends the
    requests of the virtual replication with the same seed, at the same times."""
    seeds = seed.spawn(3)
    return seeds, int(seeds[1].generate_state(1)[0])
