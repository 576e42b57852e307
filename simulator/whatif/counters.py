"""What the traffic of one run counted, as a typed contract shared by the virtual hot loop and
the live judge: the reasons a request was denied (`Reason`), the frozen `TrafficCounters`, the
quotas clients count against (`QuotaBook`) and `Tally`, the plain (not hot-path) way to count."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from simulator.whatif.limits import Quota, client_limit
from simulator.whatif.spec import WhatIfSpec


class Reason(IntEnum):
    """Why a request was denied (the hot loop indexes lists with these)."""

    POLICY = 0
    """a policy or readiness answer of the adapter (a 4xx)"""
    GATE = 1
    """the gatekeeper's 503: not synced yet, or strict through an outage"""
    TIMEOUT = 2
    """the check failed: slower than Envoy's timeout, or an ext_authz error"""
    DOWN = 3
    """the replica was down (Envoy's status_on_error)"""

    @property
    def is_error(self) -> bool:
        return self >= Reason.TIMEOUT


@dataclass(frozen=True, slots=True)
class TrafficCounters:
    """The counters of one run's requests after warmup. Bins are ``spec.bin`` wide; ``quota``
    holds, per quota key, the net wrong decisions per quota window (+1 wrongly allowed, -1
    wrongly denied); ``first_wrong``/``last_wrong`` are None without wrong decisions."""

    requests: int
    allowed: int
    errors: int
    wrongly_allowed_bins: tuple[int, ...]
    wrongly_denied_bins: tuple[int, ...]
    error_bins: tuple[int, ...]
    wrong_by_client: tuple[tuple[int, int], ...]
    quota: tuple[dict[int, int], ...]
    wrongly_denied_by: dict[Reason, int]
    first_wrong: float | None
    last_wrong: float | None
    busy: float = 0.0
    decide_calls: int = 0


@dataclass(frozen=True, slots=True)
class QuotaBook:
    """Which quota each client counts against: ``key[c]`` indexes ``names``; ``periods[c]`` is
    the window in which its overshoot is measured; ``limits`` by key (quotas with a limit)."""

    key: tuple[int, ...]
    names: tuple[str, ...]
    periods: tuple[float, ...]
    limits: dict[int, Quota]


def quota_book(spec: WhatIfSpec) -> QuotaBook:
    limits = [client_limit(spec, c) for c in spec.traffic.clients]
    keys: dict[str, int] = {}
    key = tuple(
        keys.setdefault(lim.key if lim else f"client {c.label}", len(keys))
        for c, lim in zip(spec.traffic.clients, limits, strict=True)
    )
    return QuotaBook(
        key=key,
        names=tuple(keys),
        periods=tuple(lim.period_s if lim else spec.bin for lim in limits),
        limits={key[i]: lim for i, lim in enumerate(limits) if lim},
    )


class Tally:
    """Counts requests one call at a time into `TrafficCounters` (the live judge's way; the
    virtual hot loop inlines the same rules for speed)."""

    def __init__(self, spec: WhatIfSpec, book: QuotaBook, bins: int) -> None:
        self.book = book
        self.inv_bin = 1.0 / spec.bin
        self.bins = bins
        self.requests = self.allowed = self.errors = 0
        self.wa = [0] * bins
        self.wd = [0] * bins
        self.err = [0] * bins
        self.by_client = [[0, 0] for _ in spec.traffic.clients]
        self.quota: list[dict[int, int]] = [{} for _ in book.names]
        self.denied_by = [0] * len(Reason)
        self.first: float | None = None
        self.last: float | None = None

    def count(self, t: float, client: int, allowed: bool, truth: bool, reason: Reason) -> None:
        """One request at ``t`` (seconds from the start): what the client saw (``allowed``,
        ``reason`` when denied) and what the control plane said (``truth``)."""
        b = min(int(t * self.inv_bin), self.bins - 1)
        self.requests += 1
        if not allowed and reason.is_error:
            self.errors += 1
            self.err[b] += 1
        if allowed:
            self.allowed += 1
            if truth:
                return
            self.wa[b] += 1
            self.by_client[client][0] += 1
            delta = 1
        elif truth:
            self.wd[b] += 1
            self.by_client[client][1] += 1
            self.denied_by[reason] += 1
            delta = -1
        else:
            return
        if self.first is None:
            self.first = t
        self.last = t
        q = self.quota[self.book.key[client]]
        w = int(t / self.book.periods[client])
        q[w] = q.get(w, 0) + delta

    def counters(self) -> TrafficCounters:
        return TrafficCounters(
            requests=self.requests,
            allowed=self.allowed,
            errors=self.errors,
            wrongly_allowed_bins=tuple(self.wa),
            wrongly_denied_bins=tuple(self.wd),
            error_bins=tuple(self.err),
            wrong_by_client=tuple((a, d) for a, d in self.by_client),
            quota=tuple(self.quota),
            wrongly_denied_by={r: self.denied_by[r] for r in Reason},
            first_wrong=self.first,
            last_wrong=self.last,
        )
