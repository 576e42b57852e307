"""The control plane in virtual time: the fake control plane's own in-process state
(`fake_anypoint.ControlPlaneState`, on a SimPy clock) plus the fault windows of the timeline,
read the way the adapter's sync API serves it, and an analytics ingest that counts duplicates."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import simpy

from common.clock import Clock
from fake_anypoint import ControlPlaneSpec, ControlPlaneState, SeedResult
from simulator.whatif.timeline import TimelineEvent


class ChangeApplier:
    """Applies the timeline's control-plane changes (the fake's change models, by document
    key) to a `ControlPlaneState` seeded with ``ids``: the virtual control plane's, or a live
    stack's."""

    def __init__(self, state: ControlPlaneState, ids: SeedResult) -> None:
        self.state = state
        self.ids = ids

    def apply(self, event: TimelineEvent) -> str | None:
        """Apply ``event`` if it is a change; returns the sync kind that carries it
        (``policies`` or ``contracts``), or None for any other event."""
        change = event.change
        if change is None:
            return None
        change.apply(self.state, self.ids)
        return "policies" if change.carried_by in ("policies", "apis") else "contracts"


FEED_LIMIT = 100
EPOCH = 1_790_000_000.0


class VirtualClock:
    """`common.clock.Clock` on a SimPy environment's time."""

    def __init__(self, env: simpy.Environment, epoch: float = EPOCH) -> None:
        self._env = env
        self._epoch = epoch

    def now(self) -> float:
        return float(self._env.now)

    def wall(self) -> float:
        return self._epoch + float(self._env.now)


@dataclass(slots=True)
class CallOutcome:
    """What one sync (a series of HTTP calls) gets: success or not, after ``elapsed`` seconds."""

    ok: bool
    elapsed: float
    reason: str = ""


@dataclass(slots=True)
class Snapshot:
    """What a sync read: APIs, per-API policies (version, JSON) or contracts (items, cursor,
    full?), the control-plane revision at read time, and how many calls it took."""

    rev: int
    calls: int
    apis: list[dict[str, Any]] = field(default_factory=list)
    policies: dict[str, tuple[str, list[dict[str, Any]]]] = field(default_factory=dict)
    contracts: dict[str, tuple[list[dict[str, Any]], str, bool]] = field(default_factory=dict)


class ControlPlaneModel:
    """One control plane for one run. Timeline changes call `apply`; faults are windows."""

    def __init__(self, spec: ControlPlaneSpec, clock: Clock, seed: int) -> None:
        self.state = ControlPlaneState(clock, seed)
        self.ids = self.state.seed(spec)
        self.clock = clock
        self.outages: list[tuple[float, float]] = []
        self.errors: list[tuple[float, float, float]] = []
        self._rng = random.Random(seed)
        self.slow: list[tuple[float, float, float]] = []
        self.ingest_down: list[tuple[float, float, str]] = []
        self.changes = ChangeApplier(self.state, self.ids)
        self.changed = {"policies": 0, "contracts": 0}
        """The revision of the last change each sync kind must carry."""

    # ---- credentials and ids ----

    def api_id(self, key: str) -> str:
        return str(self.ids.apis[key])

    def credentials(self, application: str) -> tuple[str, str]:
        app = self.ids.applications[application]
        return app.client_id, app.client_secret

    @property
    def rev(self) -> int:
        return self.state.rev

    # ---- timeline ----

    def apply(self, event: TimelineEvent) -> str | None:
        """Apply a control-plane change or open a fault window. Returns the sync kind that must
        carry a change (``policies`` or ``contracts``), or None for faults."""
        kind = self._apply(event)
        if kind is not None:
            self.changed[kind] = self.state.rev
        return kind

    def _apply(self, event: TimelineEvent) -> str | None:
        now = self.clock.now()
        kind = self.changes.apply(event)
        if kind is not None:
            return kind
        p: Any = event.payload
        action = event.action
        if action == "control_plane_outage":
            self.outages.append((now, now + p.duration))
        elif action == "control_plane_latency":
            self.slow.append((now, now + p.duration, p.latency))
        elif action == "ingest_outage":
            self.ingest_down.append((now, now + p.duration, p.mode))
        elif action == "control_plane_errors":
            self.errors.append((now, now + p.duration, p.probability))
        return None

    # ---- the adapter-facing face ----

    def outcome(self, now: float, calls: int, base_latency: float, timeout: float) -> CallOutcome:
        """How a sync of ``calls`` round trips started at ``now`` ends."""
        latency = base_latency
        for start, end, extra in self.slow:
            if start <= now < end:
                latency = max(latency, extra)
        if latency > timeout:
            return CallOutcome(False, timeout, "timeout")
        for start, end in self.outages:
            if start <= now < end:
                return CallOutcome(False, latency, "unavailable")
        for start, end, probability in self.errors:
            # each call of the sync may fail; the sync stops at the first failure
            if start <= now < end:
                for call in range(calls):
                    if self._rng.random() < probability:
                        return CallOutcome(False, latency * (call + 1), "error")
        return CallOutcome(True, latency * calls)

    def ingest_mode(self, now: float) -> str:
        """``up``, ``down`` or ``lost_responses`` for an analytics post at ``now``."""
        for start, end, mode in self.ingest_down:
            if start <= now < end:
                return mode
        return "up"

    def read_policies(self) -> Snapshot:
        """The sync API's bodies, built by the fake control plane itself (same JSON as HTTP)."""
        s = self.state
        apis = s.sync_apis()["data"]
        snap = Snapshot(s.rev, 1 + len(apis), apis)
        for api in apis:
            body = s.sync_policies(api["apiId"])
            snap.policies[str(api["apiId"])] = (body["version"], body["policies"])
        return snap

    def read_contracts(self, cursors: dict[str, str | None]) -> Snapshot:
        """Every page of each API's feed, from its cursor (None: a full snapshot)."""
        s = self.state
        snap = Snapshot(s.rev, 0)
        for api_key, cursor in cursors.items():
            api_id = int(api_key)
            if api_id not in s.apis:
                continue
            since = int(cursor) if cursor is not None else None
            items: list[dict[str, Any]] = []
            while True:
                body = s.sync_contracts(api_id, since, FEED_LIMIT)
                snap.calls += 1
                items.extend(body["data"])
                nxt = body["links"].get("next")
                if nxt is None:
                    break
                since = int(nxt.split("updatedSince=")[1].split("&")[0])
            snap.contracts[api_key] = (items, body["cursor"], cursor is None)
        return snap
