"""SyncSchedule: intervals after success, exponential backoff with bounded jitter."""

from __future__ import annotations

import random

import pytest

from reference_adapter.schedule import SyncSchedule


def test_first_sync_due_at_start_then_every_interval():
    s = SyncSchedule(15.0, random.Random(1), start=100.0)
    assert not s.is_due(99.9) and s.is_due(100.0)
    assert s.on_success(101.0) == 116.0
    assert s.delay(110.0) == pytest.approx(6.0)
    assert s.ever_succeeded and s.successes == 1


def test_backoff_doubles_is_capped_and_resets_on_success():
    s = SyncSchedule(60.0, random.Random(7), backoff_base_s=1.0, backoff_max_s=8.0, jitter=0.0)
    delays = [s.on_failure(0.0) for _ in range(6)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert s.failures == 6
    s.on_success(10.0)
    assert s.failures == 0 and s.next_due == 70.0
    assert s.on_failure(70.0) == 71.0


def test_jitter_stays_within_bounds_and_is_seeded():
    a = SyncSchedule(60.0, random.Random(3), backoff_base_s=10.0, jitter=0.2)
    b = SyncSchedule(60.0, random.Random(3), backoff_base_s=10.0, jitter=0.2)
    due_a = a.on_failure(0.0)
    due_b = b.on_failure(0.0)
    assert due_a == due_b
    samples = [
        SyncSchedule(60, random.Random(i), backoff_base_s=10.0).on_failure(0) for i in range(200)
    ]
    assert min(samples) >= 8.0 and max(samples) <= 12.0
    assert max(samples) - min(samples) > 1.0


def test_default_backoff_cap_and_trigger():
    s = SyncSchedule(15.0, random.Random(0), jitter=0.0)
    assert s.backoff_max_s == 30.0
    assert s.backoff_s(100) == 30.0
    s.on_success(0.0)
    s.trigger(3.0)
    assert s.is_due(3.0)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [({"interval_s": 0}, "interval_s"), ({"interval_s": 1, "jitter": 1.5}, "jitter")],
)
def test_bad_arguments(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        SyncSchedule(rng=random.Random(0), **kwargs)
