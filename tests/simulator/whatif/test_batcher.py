"""`FastBatcher.add_bulk` leaves the batcher exactly as one `add` per event would."""

from __future__ import annotations

import random

from reference_adapter.batcher import AnalyticsBatcher
from simulator.whatif.batcher import FastBatcher


def test_add_bulk_equals_repeated_add() -> None:
    rng = random.Random(3)
    ref = AnalyticsBatcher[float](random.Random(1), batch_size=10, capacity=50)
    fast = FastBatcher(random.Random(1), batch_size=10, capacity=50)
    now = 0.0
    for _ in range(300):
        events = [now + i * 0.001 for i in range(rng.randrange(0, 30))]
        accepted = sum(ref.add(e) for e in events)
        assert fast.add_bulk(events) == accepted
        now += 0.1
        if rng.random() < 0.5:
            a, b = ref.take(now), fast.take(now)
            assert (a is None) == (b is None)
            if a is not None and b is not None:
                assert a.events == b.events
                ok = rng.random() < 0.7
                if ok:
                    ref.on_success(a, now)
                    fast.on_success(b, now)
                else:
                    ref.on_failure(a, now)
                    fast.on_failure(b, now)
        assert fast.held == ref.held and fast.buffered == ref.buffered
        assert fast.stats == ref.stats and fast.room() == max(0, 50 - ref.held)
