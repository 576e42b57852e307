"""`SyncSchedule`: when the next sync of one kind (policies, contracts, keep-alive) is due.
A pure state machine: the driver passes ``now`` and reports success or failure; failures back
off exponentially with jitter from an injected `random.Random`."""

from __future__ import annotations

import random


class SyncSchedule:
    """Every ``interval_s`` after a success; after ``n`` consecutive failures, after
    ``min(backoff_max_s, backoff_base_s * 2**(n-1))`` scaled by a jitter factor drawn from
    ``[1 - jitter, 1 + jitter]``. The first sync is due at ``start`` (default: immediately)."""

    def __init__(
        self,
        interval_s: float,
        rng: random.Random,
        *,
        start: float = 0.0,
        backoff_base_s: float = 0.5,
        backoff_max_s: float | None = None,
        jitter: float = 0.2,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s={interval_s!r} is invalid: expected seconds > 0")
        if not 0 <= jitter < 1:
            raise ValueError(f"jitter={jitter!r} is invalid: expected 0 <= jitter < 1")
        self.interval_s = interval_s
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s if backoff_max_s is not None else max(interval_s, 30.0)
        self.jitter = jitter
        self._rng = rng
        self.next_due = start
        self.failures = 0
        self.successes = 0
        self.total_failures = 0
        self.last_success: float | None = None
        self.last_failure: float | None = None

    def is_due(self, now: float) -> bool:
        return now >= self.next_due

    def delay(self, now: float) -> float:
        """Seconds until the next sync is due (0 when overdue)."""
        return max(0.0, self.next_due - now)

    @property
    def ever_succeeded(self) -> bool:
        return self.last_success is not None

    def on_success(self, now: float) -> float:
        """Record a successful sync at ``now``; returns the next due time."""
        self.failures = 0
        self.successes += 1
        self.last_success = now
        self.next_due = now + self.interval_s
        return self.next_due

    def backoff_s(self, failures: int) -> float:
        """The un-jittered delay after ``failures`` consecutive failures."""
        exponent = min(failures - 1, 62)
        return float(min(self.backoff_max_s, self.backoff_base_s * (2.0**exponent)))

    def on_failure(self, now: float) -> float:
        """Record a failed sync at ``now``; returns the next (backed-off) due time."""
        self.failures += 1
        self.total_failures += 1
        self.last_failure = now
        factor = 1.0 + self.jitter * (2.0 * self._rng.random() - 1.0)
        self.next_due = now + self.backoff_s(self.failures) * factor
        return self.next_due

    def trigger(self, now: float) -> None:
        """Make the next sync due right away (e.g. a new API appeared)."""
        self.next_due = min(self.next_due, now)

    def __repr__(self) -> str:
        return (
            f"SyncSchedule(every {self.interval_s}s, next_due={self.next_due:.3f}, "
            f"failures={self.failures})"
        )
