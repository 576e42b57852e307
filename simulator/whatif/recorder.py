"""`Recorder`: what one run observes besides the hot-path counters: control-plane changes and
when each replica enforced them, sync failures, analytics buffer high-water marks and losses."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Change:
    """A control-plane change at ``at`` (revision ``rev``) carried by one sync ``kind``."""

    label: str
    at: float
    kind: str
    rev: int
    replicas: frozenset[int] = frozenset()
    """The replicas in the routing when it happened (the ones that must enforce it)."""
    enforced: dict[int, float] = field(default_factory=dict)

    def lag(self) -> float | None:
        """Seconds until every replica enforced it (None if some never did)."""
        if not self.replicas <= self.enforced.keys():
            return None
        return max(self.enforced[r] for r in self.replicas) - self.at


class Recorder:
    """Events from the replicas' sync and analytics loops."""

    def __init__(self, replicas: int, bins: int, bin_s: float) -> None:
        self.replicas = replicas
        self.held_series = [0] * bins
        self._bin_s = bin_s
        self.recorded = 0
        self.changes: list[Change] = []
        self.sync_failures = 0
        self.syncs = 0
        self.high_water = 0
        self.lost_on_restart = 0
        self.dropped_full = 0
        self.rejected = 0
        self.restarts = 0

    def change(self, label: str, at: float, kind: str, rev: int, replicas: frozenset[int]) -> None:
        self.changes.append(Change(label, at, kind, rev, replicas))

    def synced(self, replica: int, kind: str, rev: int, now: float) -> None:
        self.syncs += 1
        for c in self.changes:
            if c.kind == kind and rev >= c.rev and replica not in c.enforced:
                c.enforced[replica] = now

    def sync_failed(self) -> None:
        self.sync_failures += 1

    def held(self, count: int, now: float | None = None) -> None:
        """Events held by one replica's batcher (buffered + pending) at ``now``."""
        if count > self.high_water:
            self.high_water = count
        if now is not None:
            b = min(int(now / self._bin_s), len(self.held_series) - 1)
            if count > self.held_series[b]:
                self.held_series[b] = count
