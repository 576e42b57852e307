"""The platform's own request limits (not policies): a fixed window per caller on the public
APIs, answered with ``X-RateLimit-Limit``/``-Remaining``/``-Reset`` (epoch seconds) and 503 when
exceeded (research/anypoint.md §2.1), and the Analytics Event API's 10 requests per minute
(§5.4), answered 429 with ``Retry-After``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from common.clock import Clock

MAX_CALLERS = 10_000
"""Windows kept at most (expired ones are dropped first): the table cannot grow without bound."""


@dataclass
class Window:
    start: float
    count: int = 0


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_wall: int
    retry_after_s: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_wall),
        }


class Quota:
    """At most ``limit`` requests per caller in each ``period_s`` window (0: no limit)."""

    def __init__(self, clock: Clock, limit: int, period_s: float = 60.0) -> None:
        if limit < 0 or not 0 < period_s <= 86_400:
            raise ValueError(
                f"quota: limit {limit} must be >= 0 and period {period_s} in (0, 1 day]"
            )
        self.clock = clock
        self.limit = limit
        self.period_s = period_s
        self.windows: dict[str, Window] = {}

    def take(self, caller: str) -> Verdict | None:
        """Count one request of ``caller``; None when the quota is off."""
        if self.limit == 0:
            return None
        now = self.clock.now()
        window = self.windows.get(caller)
        if window is None or now >= window.start + self.period_s:
            self._room(now)
            window = self.windows[caller] = Window(now)
        window.count += 1
        ends_in = window.start + self.period_s - now
        return Verdict(
            window.count <= self.limit,
            self.limit,
            max(0, self.limit - window.count),
            math.ceil(self.clock.wall() + ends_in),
            max(1, math.ceil(ends_in)),
        )

    def _room(self, now: float) -> None:
        if len(self.windows) < MAX_CALLERS:
            return
        for caller in [c for c, w in self.windows.items() if now >= w.start + self.period_s]:
            del self.windows[caller]
        while len(self.windows) >= MAX_CALLERS:
            del self.windows[next(iter(self.windows))]


@dataclass
class Quotas:
    """The two limits of one server."""

    platform: Quota
    analytics: Quota


PLATFORM_LIMIT = 500
"""Requests per minute per caller on the public platform APIs (the KB's ``X-RateLimit-Limit``)."""
ANALYTICS_LIMIT = 10
"""Requests per minute per caller on the Analytics Event API (its documented limit)."""
PLATFORM_PREFIXES = ("/accounts/", "/apimanager/", "/exchange/", "/apiplatform/", "/graph/")
ANALYTICS_PREFIXES = ("/analytics/",)


def quota_kind(path: str) -> str | None:
    """Which quota a route's path is under: ``platform``, ``analytics`` or none (the kit's
    adapter sync API, the ingest, the admin API and the CLI telemetry sink are not limited)."""
    if path.startswith(ANALYTICS_PREFIXES):
        return "analytics"
    if path.startswith(PLATFORM_PREFIXES):
        return "platform"
    return None
