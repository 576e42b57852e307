"""`FastWindows`: the reference adapter's `InMemoryWindows` with a fast path for single-limit
keys (same `WindowResult` for every hit), plugged in through ``DecisionEngine(shared_windows=)``."""

from __future__ import annotations

from collections.abc import Sequence

from reference_adapter.contracts import SlaLimit
from reference_adapter.windows import InMemoryWindows, WindowResult


class FastWindows(InMemoryWindows):
    """`InMemoryWindows` with a fast path when a key has exactly one limit."""

    def copy(self) -> FastWindows:
        """An independent store with the same windows (the oracle forks one)."""
        other = FastWindows()
        other._windows = {k: [list(w) for w in v] for k, v in self._windows.items()}
        return other

    def hit(self, key: str, limits: Sequence[SlaLimit], now: float) -> WindowResult:
        if len(limits) != 1:
            return super().hit(key, limits, now)
        windows = self._windows.get(key)
        if windows is None or len(windows) != 1:
            windows = self._windows[key] = [[now, 0.0]]
        limit = limits[0]
        window = windows[0]
        period = limit.period_ms / 1000.0
        if now >= window[0] + period:
            window[0] = now
            window[1] = 0.0
        maximum = limit.maximum_requests
        allowed = window[1] < maximum
        if allowed:
            window[1] += 1
        remaining = maximum - int(window[1])
        reset_ms = round((window[0] + period - now) * 1000)
        return WindowResult(
            allowed, maximum, remaining if remaining > 0 else 0, reset_ms if reset_ms > 0 else 0
        )


class RedisStore:
    """The shared counters of ``quota: shared`` when the timeline stops Redis: ``up`` is False
    during a ``redis_outage``."""

    def __init__(self) -> None:
        self.shared = FastWindows()
        self.up = True


class ReplicaWindows:
    """One replica's counters on a `RedisStore`, as the live adapter's ``RedisWindows`` counts:
    in the shared store while Redis is up, in the replica's own memory while it is down."""

    is_async = False

    def __init__(self, store: RedisStore) -> None:
        self.store = store
        self.fallback = FastWindows()

    def hit(self, key: str, limits: Sequence[SlaLimit], now: float) -> WindowResult:
        windows = self.store.shared if self.store.up else self.fallback
        return windows.hit(key, limits, now)
