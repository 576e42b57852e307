"""`FastWindows` answers every hit exactly like the reference adapter's `InMemoryWindows`."""

from __future__ import annotations

import random

from reference_adapter.contracts import SlaLimit
from reference_adapter.windows import InMemoryWindows
from simulator.whatif.windows import FastWindows


def test_same_results_as_the_reference_store_on_random_hits() -> None:
    rng = random.Random(5)
    shapes = [
        (SlaLimit(3, 1000),),
        (SlaLimit(1, 250),),
        (SlaLimit(5, 1000), SlaLimit(20, 10_000)),
        (SlaLimit(0, 500),),
    ]
    ref, fast = InMemoryWindows(), FastWindows()
    now = 0.0
    for _ in range(50_000):
        now += rng.expovariate(20.0)
        key = f"k{rng.randrange(4)}"
        limits = shapes[int(key[1])]
        assert fast.hit(key, limits, now) == ref.hit(key, limits, now)
    assert len(fast) == len(ref) == 4
