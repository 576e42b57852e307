"""Network faults inside the proxy: the wire form of a fault, which one fires for a connection or
a request (by host, method, path and time window), and the bounded log of what fired."""

from __future__ import annotations

import fnmatch
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

REQUEST_KINDS = ("latency", "bandwidth", "stall", "reset", "truncated_gzip")
"""Faults decided per request (the proxy has seen the method and path)."""
CONNECTION_KINDS = (
    "tls_handshake_failure",
    "wrong_host_certificate",
    "expired_certificate",
    "goaway",
    "dns_failure",
)
"""Faults decided per connection (only the host is known when they act)."""
KINDS = REQUEST_KINDS + CONNECTION_KINDS
SABOTEUR_KINDS = ("bandwidth", "stall", "reset")
"""Request faults that need byte-level control of the answer (served through the saboteur)."""
EVENT_LIMIT = 10_000
MAX_HOLD_S = 600.0
MAX_LATENCY_S = 600.0


@dataclass(frozen=True, slots=True)
class NetFault:
    """One network fault as the kit sends it (validated there by ``proxy.netfaults``).

    ``host`` is a host name, a role (``platform``/``ingest``) or ``*``; ``path`` a glob on the
    request path; ``start``/``end`` are ``time.monotonic()`` seconds (None: open).
    """

    kind: str
    name: str = ""
    host: str = "*"
    path: str = "*"
    method: str | None = None
    latency_s: float = 0.0
    jitter_s: float = 0.0
    rate_bps: int | None = None
    hold_s: float = 30.0
    cut_after: int | None = None
    start: float | None = None
    end: float | None = None
    first_n: int | None = None

    @classmethod
    def from_wire(cls, data: Any, where: str = "fault") -> NetFault:
        """Build from a JSON mapping; ValueError naming the field for anything malformed."""
        if not isinstance(data, dict):
            raise ValueError(f"{where}: expected a JSON object")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
        fault = cls(**data)
        fault._check(where)
        return fault

    def _check(self, where: str) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{where}.kind: {self.kind!r} is not one of {', '.join(KINDS)}")
        for name, top in (("latency_s", MAX_LATENCY_S), ("jitter_s", MAX_LATENCY_S)):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0 <= value <= top:
                raise ValueError(f"{where}.{name}: {value!r} must be 0..{top:g} seconds")
        if not isinstance(self.hold_s, int | float) or not 0 <= self.hold_s <= MAX_HOLD_S:
            raise ValueError(f"{where}.hold_s: {self.hold_s!r} must be 0..{MAX_HOLD_S:g} seconds")
        if self.kind == "bandwidth" and (not isinstance(self.rate_bps, int) or self.rate_bps < 1):
            raise ValueError(f"{where}.rate_bps: a bandwidth fault needs bytes per second >= 1")
        for name in ("cut_after", "first_n"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ValueError(f"{where}.{name}: {value!r} must be an integer >= 0")

    @property
    def label(self) -> str:
        return self.name or self.kind

    def active(self, now: float) -> bool:
        if self.start is not None and now < self.start:
            return False
        return self.end is None or now < self.end


@dataclass(slots=True)
class FaultEvent:
    """One fault that acted, for the kit's trace and journal."""

    at: float
    name: str
    kind: str
    host: str
    method: str
    path: str
    detail: str = ""

    def to_wire(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "name": self.name,
            "kind": self.kind,
            "host": self.host,
            "method": self.method,
            "path": self.path,
            "detail": self.detail,
        }


@dataclass
class FaultBook:
    """The active faults and what they did. ``roles`` maps host names to ``platform``/``ingest``."""

    now: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    roles: dict[str, str] = field(default_factory=dict)
    faults: list[NetFault] = field(default_factory=list)
    fired: dict[int, int] = field(default_factory=dict)
    events: list[FaultEvent] = field(default_factory=list)
    dropped_events: int = 0

    def replace(self, faults: list[NetFault]) -> None:
        self.faults = list(faults)
        self.fired = {}

    def add(self, faults: list[NetFault]) -> None:
        self.faults.extend(faults)

    def clear(self) -> None:
        self.replace([])

    def _host_matches(self, fault: NetFault, host: str) -> bool:
        if fault.host == "*":
            return True
        return fault.host.lower() in (host.lower(), self.roles.get(host.lower(), ""))

    def pick(
        self, kinds: tuple[str, ...], host: str, method: str = "", path: str = ""
    ) -> NetFault | None:
        """The first active fault of ``kinds`` for this host (and method and path); counted."""
        now = self.now()
        for index, fault in enumerate(self.faults):
            if fault.kind not in kinds or not fault.active(now):
                continue
            if not self._host_matches(fault, host):
                continue
            if fault.kind in REQUEST_KINDS:
                if fault.method and method and fault.method.upper() != method.upper():
                    continue
                if path and not fnmatch.fnmatchcase(path.split("?", 1)[0], fault.path):
                    continue
            if fault.first_n is not None and self.fired.get(index, 0) >= fault.first_n:
                continue
            self.fired[index] = self.fired.get(index, 0) + 1
            return fault
        return None

    def started_since(self, kinds: tuple[str, ...], host: str, opened: float) -> NetFault | None:
        """An active fault of ``kinds`` on ``host`` that began after ``opened`` (not counted):
        connections older than a connection-level fault are closed so the client reconnects
        into it, as when a platform endpoint restarts."""
        now = self.now()
        for fault in self.faults:
            began = fault.start is not None and opened < fault.start
            live = fault.kind in kinds and fault.active(now)
            if began and live and self._host_matches(fault, host):
                return fault
        return None

    def delay(self, fault: NetFault) -> float:
        """The latency of one request: ``latency`` plus a seeded uniform share of ``jitter``."""
        jitter = self.rng.uniform(0.0, fault.jitter_s) if fault.jitter_s > 0 else 0.0
        return fault.latency_s + jitter

    def note(
        self, fault: NetFault, host: str, method: str = "", path: str = "", detail: str = ""
    ) -> None:
        if len(self.events) >= EVENT_LIMIT:
            del self.events[: EVENT_LIMIT // 10]
            self.dropped_events += EVENT_LIMIT // 10
        event = FaultEvent(self.now(), fault.label, fault.kind, host, method, path, detail)
        self.events.append(event)

    def events_since(self, index: int) -> tuple[list[dict[str, Any]], int]:
        """Events from absolute position ``index`` (positions survive trimming), and the next."""
        start = max(0, index - self.dropped_events)
        events = [e.to_wire() for e in self.events[start:]]
        return events, self.dropped_events + len(self.events)
