"""Live load against any data plane: open arrivals at a target rate (latency measured from the
intended send time, so a slow system cannot hide its queueing) or a closed loop of N workers
(awaiting each request, or, on a data plane that takes callbacks, sending the next request from
the last one's callback: no task per request); always bounded by a request count and a wall-time
budget.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from common.clock import Clock, MonotonicClock
from common.histogram import LogHistogram
from simulator.model import ClientRequest, DataPlane

Send = Callable[[int], Awaitable[Any]]
Outcome = Callable[[Any], None]
"""Called with a request's answer, or with the exception it ended in."""
Submit = Callable[[int, Outcome], None]
"""Starts request ``i``; its outcome goes to the callback, never before `Submit` returns."""


@dataclass
class LoadResult:
    """What a load run measured; ``latency`` holds seconds (bounded memory, 1% buckets)."""

    mode: str
    sent: int
    completed: int
    errors: int
    duration_s: float
    latency: LogHistogram = field(default_factory=LogHistogram, repr=False)
    outcomes: Counter[str] = field(default_factory=Counter)

    @property
    def throughput(self) -> float:
        return self.completed / self.duration_s if self.duration_s > 0 else 0.0

    def latency_ms(self, q: float) -> float:
        """The ``q``-th latency percentile (0-100) in milliseconds (0.0 when nothing completed)."""
        value = self.latency.percentile(q)
        return 0.0 if value is None else value * 1000.0

    def summary(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "sent": self.sent,
            "completed": self.completed,
            "errors": self.errors,
            "duration_s": round(self.duration_s, 3),
            "throughput_rps": round(self.throughput, 1),
            "p50_ms": round(self.latency_ms(50), 3),
            "p90_ms": round(self.latency_ms(90), 3),
            "p99_ms": round(self.latency_ms(99), 3),
            "max_ms": round(self.latency.max * 1000.0, 3),
            "outcomes": dict(self.outcomes),
        }


def _check_bounds(count: int, duration_s: float) -> None:
    if count <= 0:
        raise ValueError(f"load count={count!r} is not valid: give a positive request count")
    if duration_s <= 0:
        raise ValueError(f"load duration_s={duration_s!r} is not valid: give a positive budget")


def _outcome(result: Any) -> str:
    return _named(getattr(result, "status", None), getattr(result, "decision", None))


def _named(status: Any, decision: Any) -> str:
    if status is None:
        return "done"
    return f"{status} {decision}" if decision else str(status)


LATENCY_BATCH = 1024
"""Latencies `closed_loop_submitted` keeps before adding them to the histogram at once."""


async def open_loop(
    send: Send,
    rate: float,
    *,
    count: int,
    duration_s: float,
    poisson: bool = False,
    rng: random.Random | None = None,
    max_in_flight: int = 4096,
    drain_s: float = 10.0,
    clock: Clock | None = None,
) -> LoadResult:
    """Send request i at start + i/rate (or Poisson gaps), never waiting for answers.

    Latency is measured from the intended send time, so time spent waiting for a free
    in-flight slot or behind a late scheduler counts (no coordinated omission).
    """
    _check_bounds(count, duration_s)
    if rate <= 0:
        raise ValueError(f"load rate={rate!r} is not valid: give requests per second > 0")
    clk: Clock = clock or MonotonicClock()
    gen = rng or random.Random(0)
    result = LoadResult(mode=f"open {rate:g}/s", sent=0, completed=0, errors=0, duration_s=0.0)
    slots = asyncio.Semaphore(max_in_flight)
    tasks: set[asyncio.Task[None]] = set()

    async def one(i: int, intended: float) -> None:
        async with slots:
            try:
                out = await send(i)
            except Exception as err:  # a failed request is a measured outcome
                result.errors += 1
                result.outcomes[type(err).__name__] += 1
                return
        result.completed += 1
        result.latency.add(clk.now() - intended)
        result.outcomes[_outcome(out)] += 1

    start = clk.now()
    offset = 0.0
    for i in range(count):
        if offset > duration_s:
            break
        intended = start + offset
        delay = intended - clk.now()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.ensure_future(one(i, intended))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        result.sent += 1
        offset += gen.expovariate(rate) if poisson else 1.0 / rate
    await _drain(tasks, drain_s, result)
    result.duration_s = clk.now() - start
    return result


async def closed_loop(
    send: Send,
    concurrency: int,
    *,
    count: int,
    duration_s: float,
    drain_s: float = 10.0,
    clock: Clock | None = None,
) -> LoadResult:
    """`concurrency` workers each send the next request as soon as their last one returned."""
    _check_bounds(count, duration_s)
    if concurrency <= 0:
        raise ValueError(f"load concurrency={concurrency!r} is not valid: give workers > 0")
    clk: Clock = clock or MonotonicClock()
    result = LoadResult(
        mode=f"closed x{concurrency}", sent=0, completed=0, errors=0, duration_s=0.0
    )
    start = clk.now()
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        while next_index < count and clk.now() - start < duration_s:
            i = next_index
            next_index += 1
            result.sent += 1
            t0 = clk.now()
            try:
                out = await send(i)
            except Exception as err:  # a failed request is a measured outcome
                result.errors += 1
                result.outcomes[type(err).__name__] += 1
                continue
            result.completed += 1
            result.latency.add(clk.now() - t0)
            result.outcomes[_outcome(out)] += 1

    tasks = {asyncio.ensure_future(worker()) for _ in range(concurrency)}
    await _drain(tasks, duration_s + drain_s, result)
    result.duration_s = clk.now() - start
    return result


async def closed_loop_submitted(
    submit: Submit,
    concurrency: int,
    *,
    count: int,
    duration_s: float,
    drain_s: float = 10.0,
    clock: Clock | None = None,
) -> LoadResult:
    """`closed_loop` without a task per request: ``concurrency`` requests in flight, each
    answer's callback records it and sends the next one (as wrk's event loop does). The same
    bounds and the same figures (latencies go to the histogram in batches of `LATENCY_BATCH`,
    outcomes are counted by status and decision and named at the end); answers still out
    after the drain count as unfinished."""
    _check_bounds(count, duration_s)
    if concurrency <= 0:
        raise ValueError(f"load concurrency={concurrency!r} is not valid: give workers > 0")
    clk: Clock = clock or MonotonicClock()
    loop = asyncio.get_running_loop()
    result = LoadResult(
        mode=f"closed x{concurrency}", sent=0, completed=0, errors=0, duration_s=0.0
    )
    finished: asyncio.Future[None] = loop.create_future()
    state = [0, 0]  # the next request's number, requests in flight
    now = time.monotonic if type(clk) is MonotonicClock else clk.now  # (its very clock)
    start = now()
    end = start + duration_s
    latencies: list[float] = []
    answers: Counter[tuple[Any, Any]] = Counter()

    def send_next() -> None:
        i = state[0]
        if i >= count or now() >= end or finished.done():
            if state[1] == 0 and not finished.done():
                finished.set_result(None)
            return
        state[0] = i + 1
        state[1] += 1
        t0 = now()

        def answered(out: Any) -> None:
            if finished.done():
                return  # after the drain: already counted as unfinished
            state[1] -= 1
            if isinstance(out, BaseException):
                result.errors += 1
                result.outcomes[type(out).__name__] += 1
            else:
                latencies.append(now() - t0)
                if len(latencies) >= LATENCY_BATCH:
                    result.latency.add_many(latencies)
                    latencies.clear()
                answers[getattr(out, "status", None), getattr(out, "decision", None)] += 1
            send_next()

        try:
            submit(i, answered)
        except Exception as err:  # refused at once: measured, and the next one goes later
            loop.call_soon(answered, err)

    for _ in range(concurrency):
        send_next()
    try:
        await asyncio.wait_for(asyncio.shield(finished), duration_s + drain_s)
    except TimeoutError:
        result.errors += state[1]
        result.outcomes["unfinished"] += state[1]
        finished.set_result(None)
    result.duration_s = clk.now() - start
    result.latency.add_many(latencies)
    for (status, decision), n in answers.items():
        result.outcomes[_named(status, decision)] += n
    result.completed = sum(answers.values())
    result.sent = state[0]
    return result


async def _drain(tasks: set[asyncio.Task[None]], timeout: float, result: LoadResult) -> None:
    if not tasks:
        return
    _, pending = await asyncio.wait(set(tasks), timeout=timeout)
    for task in pending:
        task.cancel()
    if pending:
        result.errors += len(pending)
        result.outcomes["unfinished"] += len(pending)
        await asyncio.wait(pending)


def plane_submitter(plane: DataPlane, make_request: Callable[[int], ClientRequest]) -> Submit:
    """A `submit` for `closed_loop_submitted`: the plane's own ``submit`` when it has one
    (`RealEnvoy`), else `handle` in a task."""
    direct = getattr(plane, "submit", None)
    if direct is not None:

        def submit_direct(i: int, done: Outcome) -> None:
            direct(make_request(i), done)

        return submit_direct
    tasks: set[asyncio.Task[Any]] = set()

    def submit(i: int, done: Outcome) -> None:
        task = asyncio.ensure_future(plane.handle(make_request(i)))
        tasks.add(task)

        def hand_on(t: asyncio.Task[Any]) -> None:
            tasks.discard(t)
            done(asyncio.CancelledError() if t.cancelled() else t.exception() or t.result())

        task.add_done_callback(hand_on)

    return submit


def plane_sender(plane: DataPlane, make_request: Callable[[int], ClientRequest]) -> Send:
    """A `send` for the loops above that drives a data plane."""

    async def send(i: int) -> Any:
        return await plane.handle(make_request(i))

    return send
