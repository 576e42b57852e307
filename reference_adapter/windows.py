"""Fixed-window request counters for the rate-limiting policies. A window opens with the first
request for a key and lasts its period; the next request after it closes opens a new one
(the same rule the Redis backend implements with INCR + PEXPIRE). Several limits are checked
together: a request is counted only if every limit has quota left."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple, Protocol

from reference_adapter.contracts import SlaLimit


class WindowResult(NamedTuple):
    """The outcome of one hit, with the most restrictive limit (least remaining, then the
    soonest reset) for the ``X-Ratelimit-*`` headers: ``reset_ms`` is ms to that window's end."""

    allowed: bool
    limit: int
    remaining: int
    reset_ms: int


class WindowCounters(Protocol):
    """A counter store. `InMemoryWindows` is the default; a shared one (the same object for
    several engines, or Redis in the live adapter) makes quotas cluster-wide. A store with
    ``is_async`` true also has ``hit_async`` (`AsyncWindowCounters`)."""

    is_async: bool

    def hit(self, key: str, limits: Sequence[SlaLimit], now: float) -> WindowResult: ...


class AsyncWindowCounters(WindowCounters, Protocol):
    """A counter store that needs I/O (Redis): ``hit`` is its local fallback."""

    async def hit_async(self, key: str, limits: Sequence[SlaLimit], now: float) -> WindowResult: ...


class InMemoryWindows:
    """Windows in a dict: ``key`` → per-limit ``[start_s, count, end_s]``."""

    is_async = False

    def __init__(self) -> None:
        self._windows: dict[str, list[list[float]]] = {}

    def __len__(self) -> int:
        return len(self._windows)

    def hit(self, key: str, limits: Sequence[SlaLimit], now: float) -> WindowResult:
        windows = self._windows.get(key)
        if windows is None or len(windows) != len(limits):
            windows = self._windows[key] = [
                [now, 0.0, now + limit.period_ms / 1000.0] for limit in limits
            ]
        if len(limits) == 1:  # the common case, without the loops
            window = windows[0]
            maximum = limits[0].maximum_requests
            if now >= window[2]:
                window[0] = now
                window[1] = 0.0
                window[2] = now + limits[0].period_ms / 1000.0
            allowed = window[1] < maximum
            if allowed:
                window[1] += 1.0
            remaining = maximum - int(window[1])
            return WindowResult(
                allowed, maximum, max(0, remaining), round((window[2] - now) * 1000)
            )
        allowed = True
        for limit, window in zip(limits, windows, strict=True):
            if now >= window[2]:
                window[0] = now
                window[1] = 0.0
                window[2] = now + limit.period_ms / 1000.0
            if window[1] >= limit.maximum_requests:
                allowed = False
        if allowed:
            for window in windows:
                window[1] += 1.0
        best: WindowResult | None = None
        for limit, window in zip(limits, windows, strict=True):
            remaining = max(0, limit.maximum_requests - int(window[1]))
            reset_ms = max(0, round((window[2] - now) * 1000))
            if best is None or (remaining, reset_ms) < (best.remaining, best.reset_ms):
                best = WindowResult(allowed, limit.maximum_requests, remaining, reset_ms)
        return best if best is not None else WindowResult(True, 0, 0, 0)

    def forget(self, prefix: str) -> None:
        """Drop every window whose key starts with ``prefix``."""
        for key in [k for k in self._windows if k.startswith(prefix)]:
            del self._windows[key]


def windows_for(shared: WindowCounters, clusterizable: bool) -> WindowCounters:
    """The counter store a rate-limit policy uses: the store shared by the adapter's replicas
    (in-process or Redis) when the policy is ``clusterizable``, else one of its own (per
    replica). A Redis store puts the policy on the async decision path (its synchronous
    ``hit`` is the per-replica fallback)."""
    return shared if clusterizable else InMemoryWindows()
