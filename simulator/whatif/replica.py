"""`Replica`: one simulated adapter replica. It owns the reference adapter's own cores (a
`DecisionEngine`, two `SyncSchedule`s, an `AnalyticsBatcher`) and drives them with SimPy
processes the way `ReferenceAdapter`'s asyncio loops do, against the `ControlPlaneModel`."""

from __future__ import annotations

import heapq
import random
from collections.abc import Generator
from typing import Any

import simpy

from reference_adapter import DecisionEngine
from reference_adapter.schedule import SyncSchedule
from reference_adapter.windows import WindowCounters
from simulator.whatif.batcher import FastBatcher
from simulator.whatif.controlplane import ControlPlaneModel
from simulator.whatif.ingest import IngestModel
from simulator.whatif.recorder import Recorder
from simulator.whatif.spec import WhatIfSpec
from simulator.whatif.sync_apply import apply_contracts, apply_policies, cursors
from simulator.whatif.windows import FastWindows, RedisStore, ReplicaWindows

KINDS = ("policies", "contracts")
Proc = Generator[simpy.Event, Any, None]


class Replica:
    """Starts warm (already synced at t=0, loops at a random phase) or cold (after a restart:
    503 until the first sync). ``generation`` changes on every restart; stale processes stop.
    ``shared`` is the rate-limit counter store all replicas use (``quota: shared``, what Redis
    gives the live adapter; a `RedisStore` when the timeline stops Redis); None gives each
    engine its own, lost on restart. ``started=False``: a replica a timeline event adds later."""

    def __init__(
        self,
        index: int,
        env: simpy.Environment,
        spec: WhatIfSpec,
        cp: ControlPlaneModel,
        rng: random.Random,
        recorder: Recorder,
        ingest: IngestModel,
        shared: WindowCounters | RedisStore | None,
        *,
        started: bool = True,
    ) -> None:
        self.index = index
        self.env = env
        self.spec = spec
        self.cp = cp
        self.rng = rng
        self.recorder = recorder
        self.ingest = ingest
        self.shared = shared
        self.generation = 0
        self.up = started
        self.active = started
        """In the routing (False before an added replica starts and after a removal)."""
        self.version = 0
        self.waiting = False
        self.batch_size = spec.adapter.analytics_batch_size
        self.batcher = self._new_batcher(0.0)
        self.wake: dict[str, simpy.Event] = {}
        if started:
            self._start(warm=True)
        else:
            self._idle()

    # ---- lifecycle ----

    def _idle(self) -> None:
        """Not started yet (a replica a timeline event adds later)."""
        self.engine = DecisionEngine(self.spec.adapter.gatekeeper, shared_windows=FastWindows())
        self.synced = {"policies": -1, "contracts": -1}
        self.free = [0.0] * self.spec.adapter.workers

    def _new_batcher(self, start: float) -> FastBatcher:
        a = self.spec.adapter
        return FastBatcher(
            self.rng,
            interval_s=a.analytics_interval,
            batch_size=a.analytics_batch_size,
            capacity=a.analytics_buffer,
            retry_base_s=a.analytics_retry_base,
            retry_max_s=a.analytics_retry_max,
            jitter=a.jitter,
            start=start,
        )

    def _start(self, warm: bool) -> None:
        a = self.spec.adapter
        env, rng, now = self.env, self.rng, float(self.env.now)
        windows: WindowCounters
        if isinstance(self.shared, RedisStore):
            windows = ReplicaWindows(self.shared)
        elif self.shared is not None:
            windows = self.shared
        else:
            windows = FastWindows()
        self.engine = DecisionEngine(a.gatekeeper, shared_windows=windows)
        self.apis_loaded = False
        self.synced = {"policies": -1, "contracts": -1}
        self.free = [now] * a.workers
        heapq.heapify(self.free)

        def phase(interval: float) -> float:
            return rng.uniform(0.0, interval) if warm and a.random_phase else 0.0

        self.schedules = {
            kind: SyncSchedule(
                interval,
                rng,
                start=now + phase(interval),
                backoff_base_s=a.sync_backoff_base,
                backoff_max_s=a.sync_backoff_max,
                jitter=a.jitter,
            )
            for kind, interval in (
                ("policies", a.policies_interval),
                ("contracts", a.contracts_interval),
            )
        }
        self.batcher = self._new_batcher(now - phase(a.analytics_interval))
        if warm:
            self._load(self.cp.read_policies(), "policies")
            self._load(self.cp.read_contracts(cursors(self.engine)), "contracts")
            for schedule in self.schedules.values():
                schedule.on_success(now)
                schedule.next_due = (
                    now + phase(schedule.interval_s)
                    if a.random_phase
                    else (now + schedule.interval_s)
                )
        self.wake = {k: env.event() for k in (*KINDS, "analytics")}
        gen = self.generation
        for kind in KINDS:
            env.process(self._sync_loop(kind, gen))
        env.process(self._analytics_loop(gen))
        self.version += 1

    def restart(self, downtime: float | None, graceful: bool = False) -> Proc:
        """Stop now and start cold after ``downtime`` (None: stay down). SIGKILL loses the
        state and unsent analytics; a graceful stop (SIGTERM) posts them first."""
        self.stop(graceful)
        self.recorder.restarts += 1
        if downtime is None:
            return
        yield self.env.timeout(downtime)
        self.launch()

    def stop(self, graceful: bool) -> None:
        """Stop the replica's loops now (its checks fail until it starts again)."""
        self.generation += 1
        self.up = False
        self.version += 1
        if graceful:
            self._flush_on_stop()
        self._retire_batcher(lost=True)

    def launch(self) -> None:
        """Start cold now (503 until its first sync) and take traffic."""
        self.generation += 1
        self.up = True
        self.active = True
        self._start(warm=False)

    def _flush_on_stop(self) -> None:
        """What a clean stop posts: everything held, in one go, if the ingest is up (the
        ingest's answer is not awaited: the adapter process is leaving)."""
        b, now = self.batcher, float(self.env.now)
        events = b.drain()
        if events and self.cp.ingest_mode(now) != "down":
            self.ingest.receive(f"stop-{self.index}-{self.generation}", events, now)
        else:
            self.recorder.lost_on_restart += len(events)

    def _retire_batcher(self, lost: bool) -> None:
        b = self.batcher
        if lost:
            self.recorder.lost_on_restart += b.held
        self.recorder.recorded += b.stats.recorded
        self.recorder.dropped_full += b.stats.dropped
        self.recorder.rejected += b.stats.rejected
        self.waiting = False

    def finish(self) -> int:
        """End of run: fold this replica's counters into the recorder; returns events held."""
        held = self.batcher.held if self.up else 0
        self.recorder.held(held, float(self.env.now) - 1e-9)
        if self.up:
            self._retire_batcher(lost=False)
        return held

    # ---- sync ----

    def _load(self, snap: Any, kind: str) -> None:
        if kind == "policies":
            new = apply_policies(self.engine, snap)
            self.apis_loaded = True
            if new and self.env.now > 0:
                self.schedules["contracts"].trigger(self.env.now)
                self.poke("contracts")
        else:
            apply_contracts(self.engine, snap)
        self.synced[kind] = snap.rev
        self.recorder.synced(self.index, kind, snap.rev, float(self.env.now))
        self.version += 1

    def poke(self, name: str) -> None:
        event = self.wake.get(name)
        if event is None:
            return
        if not event.triggered:
            event.succeed()

    def _sleep(
        self, wake: dict[str, simpy.Event], name: str, delay: float
    ) -> Generator[simpy.Event, Any, None]:
        event = wake[name]
        if event.triggered:
            wake[name] = event = self.env.event()
        if delay == float("inf"):
            yield event
        else:
            yield self.env.timeout(max(0.0, delay)) | event
        if event.triggered:
            wake[name] = self.env.event()

    def _sync_loop(self, kind: str, gen: int) -> Proc:
        env, cp, a = self.env, self.cp, self.spec.adapter
        schedule = self.schedules[kind]
        wake = self.wake
        while gen == self.generation:
            now = float(env.now)
            if now < schedule.next_due:
                yield from self._sleep(wake, kind, schedule.next_due - now)
                continue
            if kind == "contracts" and not self.apis_loaded:
                yield from self._sleep(wake, kind, float("inf"))
                continue
            snap = (
                cp.read_policies()
                if kind == "policies"
                else cp.read_contracts(cursors(self.engine))
            )
            outcome = cp.outcome(
                now, max(1, snap.calls), self.spec.latency.control_plane, a.request_timeout
            )
            yield env.timeout(outcome.elapsed)
            if gen != self.generation:
                return
            if outcome.ok:
                self._load(snap, kind)
                schedule.on_success(float(env.now))
                self.engine.set_reachable(True)
            else:
                schedule.on_failure(float(env.now))
                self.engine.set_reachable(False)
                self.recorder.sync_failed()
                self.version += 1

    # ---- analytics ----

    def _analytics_loop(self, gen: int) -> Proc:
        env, b, cp = self.env, self.batcher, self.cp
        latency = self.spec.latency.ingest
        wake = self.wake
        while gen == self.generation:
            now = float(env.now)
            batch = b.take(now)
            if batch is None:
                self.waiting = True
                yield from self._sleep(wake, "analytics", b.next_due() - now)
                self.waiting = False
                continue
            mode = cp.ingest_mode(now)
            self.recorder.held(b.held, now)
            yield env.timeout(latency)
            if gen != self.generation:
                return
            now = float(env.now)
            if mode != "down":
                self.ingest.receive(batch.batch_id, batch.events, now)
            if mode == "up":
                self.recorder.held(b.held, now)
                b.on_success(batch, now)
            else:
                b.on_failure(batch, now)
