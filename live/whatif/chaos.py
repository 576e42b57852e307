"""Running a what-if timeline live, at wall-clock times from the start: control-plane changes
on the fake's state, faults as fake-control-plane fault rules (outage, errors, latency, ingest
down or losing answers), and process events on the stack (SIGKILL or SIGTERM and restart, a
replica added or removed, Redis stopped and started)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from fake_anypoint import ActiveFault, FaultSpec
from live.stack import Stack
from live.whatif.driver import LiveProgress
from simulator.whatif.controlplane import ChangeApplier
from simulator.whatif.judge import Applied
from simulator.whatif.timeline import TimelineEvent

SYNC_DATA = ("token", "apis", "policies", "contracts", "applications", "tiers", "keepalive")
"""The data an adapter syncs (a control-plane outage withholds all of it; the analytics ingest
has its own events)."""
log = logging.getLogger("live.whatif")


class Chaos:
    """Applies ``events`` at ``start + at`` (loop time); ``applied`` records when each really
    was, ``current`` names the last one (for the progress display)."""

    def __init__(
        self,
        stack: Stack,
        events: list[TimelineEvent],
        start: float,
        progress: LiveProgress | None = None,
    ) -> None:
        self.stack = stack
        self.progress = progress
        self.events = sorted(events, key=lambda e: e.at)
        self.start = start
        self.changes = ChangeApplier(stack.state, stack.seed)
        self.applied: list[Applied] = []
        self.current = ""
        self.errors: list[str] = []
        self.faults: list[ActiveFault] = []
        """The fault rules the timeline added (each counts how often it fired)."""
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for event in self.events:
            delay = self.start + event.at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            t = loop.time() - self.start
            self.applied.append(Applied(t, event))
            self.current = f"{event.label} at {t:.1f}s"
            if self.progress is not None:
                self.progress.event = self.current
            try:
                await self.apply(event)
            except Exception as exc:  # a failed chaos step is reported, the run goes on
                self.errors.append(f"{event.label}: {exc}")
                log.warning("chaos event %s failed: %s", event.label, exc)

    async def settle(self) -> None:
        """Wait for restarts still under way (bounded by their downtime), then stop."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=60)
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def apply(self, event: TimelineEvent) -> None:
        if self.changes.apply(event) is not None:
            return
        p: Any = event.payload
        if event.control_plane_outage is not None:
            self._fault(SYNC_DATA, p.duration, status=503)
        elif event.control_plane_errors is not None:
            self._fault(SYNC_DATA, p.duration, status=p.status, probability=p.probability)
        elif event.control_plane_latency is not None:
            self._fault(SYNC_DATA, p.duration, latency=p.latency)
        elif event.ingest_outage is not None:
            lost = p.mode == "lost_responses"
            self._fault(("ingest",), p.duration, status=503, lose_response=lost)
        else:
            await self._process(event)

    def _fault(self, data: tuple[str, ...], duration: float, **what: Any) -> None:
        """A fault from now for ``duration`` (the event says what it does)."""
        name = f"whatif-{'+'.join(data[:2])}"
        spec = FaultSpec.model_validate(
            {"data": list(data), "lasting": duration, "required": False, "name": name, **what}
        )
        self.faults.append(self.stack.state.add_fault(spec))

    async def _process(self, event: TimelineEvent) -> None:
        replicas = self.stack.replicas
        if event.adapter_restart is not None:
            r = event.adapter_restart
            count = len(replicas.members)
            targets = [r.replica] if r.replica is not None else list(range(count))
            for index in targets:
                if replicas.members[index].active:
                    self._spawn(self._restart(index, r.signal == "kill", r.downtime))
        elif event.add_replica is not None:
            self._spawn(self._add())
        elif event.remove_replica is not None:
            chosen = event.remove_replica.replica
            if chosen is None:
                chosen = max(m.index for m in replicas.active())
            self._spawn(replicas.remove(chosen))
        elif event.redis_outage is not None:
            self._spawn(self._redis_outage(event.redis_outage.duration))

    async def _restart(self, index: int, kill: bool, downtime: float | None) -> None:
        await self.stack.replicas.stop(index, kill=kill)
        if downtime is not None:
            await asyncio.sleep(downtime)
            await self.stack.replicas.start(index)

    async def _add(self) -> None:
        await self.stack.replicas.add()

    async def _redis_outage(self, duration: float) -> None:
        redis = self.stack.redis
        if redis is None:
            raise RuntimeError("redis_outage: this stack shares no quota through Redis")
        await redis.stop()
        await asyncio.sleep(duration)
        await redis.start()
