"""The fast lane of ``--fast``: a run of requests on one replica with a memoised (stateless)
chain that the oracle follows, up to the next event, a timed-out check, or an analytics wake;
its analytics events go in with one `FastBatcher.add_bulk`."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

from simulator.whatif.batcher import FastBatcher


def fast_lane(
    i: int,
    times: list[float],
    requests: list[int],
    services: list[float],
    horizon: float,
    timeout: float,
    memo: list[Any],
    pools: list[Any],
    decide: Callable[[Any, float], Any],
    free: list[float],
    batcher: FastBatcher,
    left: int,
    append: Callable[[float], None],
) -> tuple[int, int, int, int, bool]:
    """Process requests from index ``i``; returns ``(next index, adds left before a wake,
    allowed, decision calls, woke)``. ``woke``: the last request's add must wake analytics.
    ``left`` counts accepted adds until that wake (-1: none is needed)."""
    heapreplace = heapq.heapreplace
    allowed = calls = 0
    end = len(times)
    if 0 < left <= batcher.room():
        end = min(end, i + left)  # the left-th accepted add wakes the analytics loop
    j = i
    while j < end:
        t = times[j]
        if t >= horizon:
            break
        start = free[0]
        if start < t:
            start = t
        fin = start + services[j]
        if fin - t > timeout:
            break
        g = requests[j]
        d = memo[g]
        if d is None:
            d = memo[g] = decide(pools[g], t)
            calls += 1
        heapreplace(free, fin)
        append(fin - t)
        if d.allowed:
            allowed += 1
        j += 1
    if j == i:
        return j, left, allowed, calls, False
    accepted = batcher.add_bulk(times[i:j])
    if left > 0:
        left -= accepted
    return j, left, allowed, calls, left == 0
