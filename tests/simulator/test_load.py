"""Load mode: open arrivals without coordinated omission, closed loops, bounds."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from simulator import ClientRequest, EnvoySettings
from simulator.load import (
    LoadResult,
    Outcome,
    closed_loop,
    closed_loop_submitted,
    open_loop,
    plane_sender,
    plane_submitter,
)
from tests.simulator.helpers import AUTHORITY, run, stack


def test_latency_percentiles_come_from_the_shared_histogram() -> None:
    res = LoadResult("closed x1", 100, 100, 0, 1.0)
    for v in range(1, 101):
        res.latency.add(v / 1000.0)
    assert abs(res.latency_ms(50) - 50.0) <= 0.5  # 1% buckets
    assert abs(res.latency_ms(99) - 99.0) <= 1.0
    assert res.summary()["max_ms"] == 100.0
    assert LoadResult("closed x1", 0, 0, 0, 1.0).latency_ms(50) == 0.0


def test_open_loop_counts_queueing_from_intended_time() -> None:
    async def main() -> None:
        lock = asyncio.Lock()

        async def slow(i: int) -> int:  # a server that handles one request at a time, 20 ms each
            async with lock:
                await asyncio.sleep(0.02)
            return 200

        res = await open_loop(slow, rate=200, count=20, duration_s=5)
        summary = res.summary()
        assert (res.sent, res.completed, res.errors) == (20, 20, 0)
        # arrivals every 5 ms but service 20 ms: the last waits ~20*20 - 19*5 = 305 ms
        assert summary["max_ms"] > 250
        assert summary["p50_ms"] > 100

    run(main())


def test_open_loop_bounded_by_time_and_count() -> None:
    async def main() -> None:
        async def fast(i: int) -> None:
            return None

        res = await open_loop(fast, rate=100, count=1000, duration_s=0.1)
        assert 9 <= res.sent <= 12 and res.completed == res.sent
        res = await open_loop(fast, rate=10_000, count=5, duration_s=10)
        assert res.sent == 5

    run(main())


def test_closed_loop_and_errors() -> None:
    async def main() -> None:
        async def flaky(i: int) -> int:
            await asyncio.sleep(0)
            if i % 10 == 0:
                raise ConnectionError("boom")
            return 200

        res = await closed_loop(flaky, concurrency=4, count=50, duration_s=5)
        assert (res.sent, res.completed, res.errors) == (50, 45, 5)
        assert res.outcomes["ConnectionError"] == 5

    run(main())


def test_unfinished_requests_are_errors() -> None:
    async def main() -> None:
        async def hang(i: int) -> None:
            await asyncio.sleep(10)

        res = await open_loop(hang, rate=100, count=3, duration_s=1, drain_s=0.05)
        assert res.errors == 3 and res.outcomes["unfinished"] == 3

    run(main())


def test_bad_bounds_are_clear_errors() -> None:
    async def noop(i: int) -> None:
        return None

    with pytest.raises(ValueError, match="count=0"):
        asyncio.run(open_loop(noop, rate=1, count=0, duration_s=1))
    with pytest.raises(ValueError, match="rate=0"):
        asyncio.run(open_loop(noop, rate=0, count=1, duration_s=1))
    with pytest.raises(ValueError, match="concurrency=0"):
        asyncio.run(closed_loop(noop, concurrency=0, count=1, duration_s=1))


def test_load_through_the_simulated_envoy() -> None:
    async def main() -> None:
        async with stack(EnvoySettings(timeout_ms=5000)) as st:  # busy CI: no timeouts
            send = plane_sender(
                st.envoy, lambda i: ClientRequest(path=f"/o/{i}", authority=AUTHORITY)
            )
            res = await closed_loop(send, concurrency=8, count=200, duration_s=10)
            assert res.completed == 200 and res.errors == 0
            assert res.outcomes == {"200 allowed": 200}
            assert res.throughput > 100
            assert len(st.echo.received) == 200

    run(main())


def test_the_callback_closed_loop_counts_as_the_awaiting_one() -> None:
    """`closed_loop_submitted` sends the next request from each answer's callback: the same
    bounds, errors, outcomes and latencies as `closed_loop`; a submit that raises at once is
    a measured error, not a stalled slot."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        in_flight = [0, 0]

        def flaky(i: int, done: Outcome) -> None:
            if i % 25 == 0:
                raise ConnectionError("refused at once")
            in_flight[0] += 1
            in_flight[1] = max(in_flight[1], in_flight[0])

            def answer() -> None:
                in_flight[0] -= 1
                done(TimeoutError() if i % 10 == 0 else SimpleNamespace(status=200))

            loop.call_later(0.001, answer)

        res = await closed_loop_submitted(flaky, concurrency=4, count=100, duration_s=10)
        assert (res.sent, res.completed, res.errors) == (100, 88, 12)
        assert res.outcomes == {"200": 88, "ConnectionError": 4, "TimeoutError": 8}
        assert res.latency.total == 88 and res.latency_ms(50) >= 1.0
        assert in_flight[1] <= 4

        def silent(i: int, done: Outcome) -> None:
            return None  # never answers

        res = await closed_loop_submitted(silent, 3, count=10, duration_s=0.05, drain_s=0.05)
        assert res.errors == 3 and res.outcomes == {"unfinished": 3}

    run(main())


def test_the_callback_closed_loop_through_the_simulated_envoy() -> None:
    async def main() -> None:
        async with stack(EnvoySettings(timeout_ms=5000)) as st:  # busy CI: no timeouts
            submit = plane_submitter(
                st.envoy, lambda i: ClientRequest(path=f"/o/{i}", authority=AUTHORITY)
            )
            res = await closed_loop_submitted(submit, concurrency=8, count=200, duration_s=10)
            assert res.completed == 200 and res.errors == 0
            assert res.outcomes == {"200 allowed": 200}
            assert len(st.echo.received) == 200

    run(main())
