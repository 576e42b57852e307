"""The clock protocol every scheduling core takes, and the live implementation.

Cores (policy engine, sync schedules, analytics batching) never read the time themselves: they
are handed a ``Clock``. Live code passes ``MonotonicClock``; the what-if engine passes a clock
driven by SimPy; tests pass ``ManualClock``.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Seconds on a monotonic timeline, plus the wall-clock epoch for timestamps."""

    def now(self) -> float:
        """Monotonic seconds (only differences are meaningful)."""
        ...

    def wall(self) -> float:
        """Seconds since the Unix epoch, for timestamps shown to people."""
        ...


class MonotonicClock:
    """The real clock: ``time.monotonic`` for intervals, ``time.time`` for timestamps."""

    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when told to: for tests and virtual time."""

    def __init__(self, start: float = 0.0, epoch: float = 1_790_000_000.0) -> None:
        self._now = start
        self._epoch = epoch

    def now(self) -> float:
        return self._now

    def wall(self) -> float:
        return self._epoch + self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"a clock cannot go back: advance({seconds!r})")
        self._now += seconds

    def set(self, now: float) -> None:
        if now < self._now:
            raise ValueError(f"a clock cannot go back: set({now!r}) < {self._now!r}")
        self._now = now
