"""`AnalyticsBatcher`: the bounded analytics buffer and its flush/retry state machine.
Pure: the driver passes ``now``, takes a `Batch` when one is due, posts it, and reports the
outcome. A failed batch is retried with the same id and events, with backoff and jitter."""

from __future__ import annotations

import random
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Generic, TypeVar

E = TypeVar("E")


@dataclass(slots=True)
class Batch(Generic[E]):
    """One POST's worth of events. ``attempts`` counts the posts tried so far."""

    batch_id: str
    events: list[E]
    attempts: int = 0
    created: float = 0.0


@dataclass(slots=True)
class BatcherStats:
    """Counters for reports and what-ifs. ``held`` = buffered + in a pending batch."""

    recorded: int = 0
    dropped: int = 0
    sent: int = 0
    batches_sent: int = 0
    failures: int = 0
    retries: int = 0
    rejected: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


class AnalyticsBatcher(Generic[E]):
    """Events wait in a buffer of at most ``capacity`` (counting a pending batch); when it is
    full, new events are dropped and counted. A batch of up to ``batch_size`` is due every
    ``interval_s`` after the previous flush, or as soon as ``batch_size`` events wait. One batch
    is in flight at a time; after a failure it is retried (same id, same events) once
    ``retry_delay`` has passed, backing off exponentially up to ``retry_max_s``."""

    def __init__(
        self,
        rng: random.Random,
        *,
        interval_s: float = 5.0,
        batch_size: int = 500,
        capacity: int = 50_000,
        retry_base_s: float = 1.0,
        retry_max_s: float = 60.0,
        jitter: float = 0.2,
        start: float = 0.0,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s={interval_s!r} is invalid: expected seconds > 0")
        if batch_size < 1:
            raise ValueError(f"batch_size={batch_size!r} is invalid: expected an integer >= 1")
        if capacity < batch_size:
            raise ValueError(
                f"capacity={capacity!r} is invalid: expected at least batch_size ({batch_size})"
            )
        self.interval_s = interval_s
        self.batch_size = batch_size
        self.capacity = capacity
        self.retry_base_s = retry_base_s
        self.retry_max_s = retry_max_s
        self.jitter = jitter
        self._rng = rng
        self._buffer: deque[E] = deque()
        self._pending: Batch[E] | None = None
        self._in_flight = False
        self._retry_at = 0.0
        self.next_flush = start + interval_s
        self.stats = BatcherStats()

    # ---- recording ----

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    @property
    def held(self) -> int:
        """Events not yet delivered: buffered plus those of a pending or in-flight batch."""
        return len(self._buffer) + (len(self._pending.events) if self._pending else 0)

    @property
    def pending(self) -> Batch[E] | None:
        return self._pending

    def add(self, event: E) -> bool:
        """Buffer an event; False (and ``stats.dropped`` + 1) when the buffer is full."""
        self.stats.recorded += 1
        if self.held >= self.capacity:
            self.stats.dropped += 1
            return False
        self._buffer.append(event)
        return True

    # ---- flushing ----

    def next_due(self) -> float:
        """When `take` will next return a batch (``inf`` while one is in flight or nothing
        waits). A full batch waiting makes it due now (``-inf``)."""
        if self._in_flight:
            return float("inf")
        if self._pending is not None:
            return self._retry_at
        if not self._buffer:
            return float("inf")
        if len(self._buffer) >= self.batch_size:
            return float("-inf")
        return self.next_flush

    def is_due(self, now: float) -> bool:
        return now >= self.next_due()

    def take(self, now: float, force: bool = False) -> Batch[E] | None:
        """The batch to post now, or None. ``force`` ignores timers (used on shutdown)."""
        if self._in_flight:
            return None
        if not force and now < self.next_due():
            return None
        if self._pending is None:
            if not self._buffer:
                return None
            count = min(self.batch_size, len(self._buffer))
            events = [self._buffer.popleft() for _ in range(count)]
            batch_id = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
            self._pending = Batch(batch_id, events, 0, now)
        else:
            self.stats.retries += 1
        self._pending.attempts += 1
        self._in_flight = True
        return self._pending

    def on_success(self, batch: Batch[E], now: float) -> None:
        """The ingest accepted (or already had) the batch."""
        self._finish(batch)
        self.stats.sent += len(batch.events)
        self.stats.batches_sent += 1
        self.next_flush = now + self.interval_s

    def on_failure(self, batch: Batch[E], now: float) -> float:
        """The post failed (network, 5xx, 429, 401): keep the batch for a retry with the same
        id; returns the retry time."""
        self._check(batch)
        self._in_flight = False
        self.stats.failures += 1
        exponent = min(batch.attempts - 1, 62)
        delay = min(self.retry_max_s, self.retry_base_s * 2.0**exponent)
        delay *= 1.0 + self.jitter * (2.0 * self._rng.random() - 1.0)
        self._retry_at = now + delay
        return self._retry_at

    def on_rejected(self, batch: Batch[E], now: float, reason: str = "rejected") -> None:
        """The ingest refused the batch for good (a 4xx that retrying cannot fix): drop it."""
        self._finish(batch)
        self.stats.rejected += len(batch.events)
        self.stats.by_reason[reason] = self.stats.by_reason.get(reason, 0) + len(batch.events)
        self.next_flush = now + self.interval_s

    def _check(self, batch: Batch[E]) -> None:
        if batch is not self._pending or not self._in_flight:
            raise ValueError(f"batch {batch.batch_id} is not the batch in flight")

    def _finish(self, batch: Batch[E]) -> None:
        self._check(batch)
        self._pending = None
        self._in_flight = False
        self._retry_at = 0.0

    def __repr__(self) -> str:
        return (
            f"AnalyticsBatcher(buffered={self.buffered}, pending="
            f"{self._pending.batch_id if self._pending else None}, stats={self.stats})"
        )
