"""AnalyticsBatcher: bounded buffer, flush by interval or size, retry with the same batch id."""

from __future__ import annotations

import random
from typing import Any

import pytest

from reference_adapter.batcher import AnalyticsBatcher, Batch


def must(batch: Batch[Any] | None) -> Batch[Any]:
    assert batch is not None, "expected a batch to be due"
    return batch


def make(**kwargs: Any) -> AnalyticsBatcher[Any]:
    defaults: dict[str, Any] = {"interval_s": 5.0, "batch_size": 3, "capacity": 10, "jitter": 0.0}
    defaults.update(kwargs)
    return AnalyticsBatcher(random.Random(42), **defaults)


def test_flush_by_interval():
    b = make()
    assert b.take(10.0) is None  # nothing buffered
    b.add("e1")
    assert b.next_due() == 5.0
    assert b.take(4.9) is None
    batch = must(b.take(5.0))
    assert batch is not None and batch.events == ["e1"] and batch.attempts == 1
    b.on_success(batch, 5.1)
    assert b.stats.sent == 1 and b.stats.batches_sent == 1
    b.add("e2")
    assert b.next_due() == pytest.approx(10.1)


def test_flush_by_size_before_the_interval():
    b = make()
    for i in range(4):
        b.add(i)
    batch = must(b.take(0.1))
    assert batch is not None and batch.events == [0, 1, 2]
    assert b.take(0.1) is None  # one batch in flight at a time
    b.on_success(batch, 0.2)
    assert b.take(0.3) is None  # one event left, waits for the interval
    assert must(b.take(5.2)).events == [3]


def test_retry_reuses_batch_id_and_events_with_backoff():
    b = make(retry_base_s=1.0, retry_max_s=4.0)
    for i in range(3):
        b.add(i)
    first = must(b.take(0.0))
    assert b.on_failure(first, 0.0) == 1.0
    b.add(99)
    assert b.take(0.5) is None
    again = must(b.take(1.0))
    assert again is first and again.batch_id == first.batch_id and again.attempts == 2
    assert b.on_failure(again, 1.0) == 3.0
    third = must(b.take(3.0))
    assert b.on_failure(third, 3.0) == 7.0
    fourth = must(b.take(7.0))
    assert b.on_failure(fourth, 7.0) == 11.0  # capped at 4 s
    final = must(b.take(11.0))
    b.on_success(final, 11.0)
    assert b.stats.sent == 3 and b.stats.retries == 4 and b.stats.failures == 4
    nxt = must(b.take(100.0))
    assert nxt.events == [99] and nxt.batch_id != first.batch_id


def test_capacity_counts_pending_batch_and_drops_new_events():
    b = make(capacity=4)
    for i in range(4):
        assert b.add(i)
    batch = must(b.take(0.0))
    b.on_failure(batch, 0.0)
    assert not b.add(4)
    assert b.stats.dropped == 1 and b.stats.recorded == 5 and b.held == 4


def test_rejected_batch_is_dropped_and_counted():
    b = make()
    for i in range(3):
        b.add(i)
    batch = must(b.take(0.0))
    b.on_rejected(batch, 0.0, "status 400")
    assert b.pending is None and b.stats.rejected == 3 and b.stats.by_reason == {"status 400": 3}


def test_force_ignores_timers_and_batch_ids_are_seeded():
    a, c = make(), make()
    a.add("x")
    c.add("x")
    ba, bc = a.take(0.0, force=True), c.take(0.0, force=True)
    assert ba is not None and bc is not None and ba.batch_id == bc.batch_id
    assert len(ba.batch_id) == 36


def test_reporting_a_batch_that_is_not_in_flight_is_an_error():
    b = make()
    b.add(1)
    batch = must(b.take(0.0, force=True))
    assert batch is not None
    b.on_success(batch, 0.0)
    with pytest.raises(ValueError, match="not the batch in flight"):
        b.on_success(batch, 0.0)


def test_bad_sizes():
    with pytest.raises(ValueError, match="capacity"):
        make(capacity=2, batch_size=3)
    with pytest.raises(ValueError, match="batch_size"):
        make(batch_size=0)
