"""The live load: the virtual replication's own arrivals (times, clients, request variants,
replica draws) sent open-loop through the replicas' data planes at their intended times.
Latency is measured from the intended send time, so a slow adapter or a late generator cannot
hide queueing (no coordinated omission). Bounded by the arrivals before the end and a drain."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from common.histogram import LogHistogram
from simulator import ClientRequest, ClientResponse, DataPlane
from simulator.whatif.arrivals import ArrivalStream
from simulator.whatif.judge import Observed
from simulator.whatif.traffic import Request

MAX_IN_FLIGHT = 2048
"""Requests outstanding at once; beyond it sends wait (and the wait counts as latency)."""


def client_request(req: Request, authority: str) -> ClientRequest:
    """What a client sends so that the adapter sees ``req`` (pseudo-headers become the request
    line; ``authority`` is the bound service's host)."""
    headers = [(k, v) for k, v in req.headers.items() if not k.startswith(":")]
    return ClientRequest(
        method=req.method,
        path=req.path,
        headers=headers,
        authority=authority,
        source_ip=req.source_ip,
    )


def outcome_of(response: ClientResponse) -> str:
    """``allowed``, ``denied`` or ``error`` as the client saw it."""
    if response.decision == "error":
        return "error"
    if response.decision == "denied":
        return "denied"
    return "allowed" if response.status < 400 else "denied"


@dataclass
class LiveProgress:
    """What the progress display shows, updated as requests complete."""

    sent: int = 0
    completed: int = 0
    errors: int = 0
    late_sends: int = 0
    recent: LogHistogram = field(default_factory=LogHistogram)
    latency: LogHistogram = field(default_factory=LogHistogram)
    lateness: LogHistogram = field(default_factory=LogHistogram)
    answer: LogHistogram = field(default_factory=LogHistogram)
    """Seconds from sending to the answer (the adapter through the data plane)."""
    elapsed: float = 0.0
    event: str = ""


Router = Callable[[int, int, int], DataPlane | None]
"""``(request number, client, replica draw) -> data plane``, None when no replica is routed."""


class Driver:
    """Sends ``requests`` (by pool index) at ``start + t`` through the plane ``route`` picks."""

    def __init__(
        self,
        requests: Sequence[ClientRequest],
        route: Router,
        *,
        request_timeout: float = 10.0,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self.requests = requests
        self.route = route
        self.request_timeout = request_timeout
        self.slots = asyncio.Semaphore(max_in_flight)
        self.progress = LiveProgress()
        self.observed: list[Observed] = []

    async def _one(
        self, t: float, client: int, request: int, plane: DataPlane | None, at: float
    ) -> None:
        """One request, sent when the generator gets to it (how late that is, is its own
        lag). Its latency runs from the intended time ``at`` to the answer: the lag, the wait
        for a free slot, then the exchange as the data plane timed it (`duration_s`: without
        the plane's own bookkeeping afterwards, such as reading Envoy's access log)."""
        loop = asyncio.get_running_loop()
        began = loop.time()
        late = max(0.0, began - at)
        p = self.progress
        p.lateness.add(late)
        p.late_sends += late > 0.01
        outcome, status, took = "error", 0, -1.0
        async with self.slots:
            if plane is not None:
                sent = loop.time()
                try:
                    async with asyncio.timeout(self.request_timeout):
                        response = await plane.handle(self.requests[request])
                except Exception:  # a failed request is a measured outcome
                    pass
                else:
                    outcome, status = outcome_of(response), response.status
                    if response.duration_s > 0:
                        took = sent - at + response.duration_s
        latency = took if took >= 0 else loop.time() - at
        p.answer.add(max(0.0, latency - late))
        p.completed += 1
        p.errors += outcome == "error"
        p.recent.add(latency)
        p.latency.add(latency)
        self.observed.append(Observed(t, client, request, outcome, status, t + late))

    async def run(
        self, stream: ArrivalStream, start: float, end: float, drain: float
    ) -> list[Observed]:
        """Send every arrival with ``t < end`` (seconds after ``start``, loop time), then wait
        up to ``drain`` seconds for the answers; returns the observations sorted by time."""
        loop = asyncio.get_running_loop()
        tasks: set[asyncio.Task[None]] = set()
        n = 0
        for chunk in stream.chunks(0.0, end):
            for t, client, request, draw in zip(
                chunk.times, chunk.clients, chunk.requests, chunk.replicas, strict=True
            ):
                at = start + t
                delay = at - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                plane = self.route(n, client, draw)
                task = asyncio.ensure_future(self._one(t, client, request, plane, at))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                n += 1
                self.progress.sent = n
                self.progress.elapsed = loop.time() - start
        if tasks:
            _, pending = await asyncio.wait(set(tasks), timeout=drain)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        self.observed.sort(key=lambda o: o.t)
        return self.observed
