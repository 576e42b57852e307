"""``asmkit bench load``: the kit's load generator against fast targets, side by side with the
reference tools in the same run: HTTP through a real Envoy to the echo upstream (the kit's
closed loop on `RealEnvoy.submit`, as ``asmkit bench`` drives a real Envoy, versus ``wrk``;
aiohttp beside them for context), ext_authz gRPC to a trivial allow-all server (the kit's own
HTTP/2 client versus ``h2load``; grpc.aio for context), and Locust with one versus two workers
running at the same time (each worker held to a CPU share, against an Envoy answering itself;
unconstrained through Envoy to the echo upstream for context). Rates are compared per
CPU-second of the generator (the machine is shared), and each row says whether the generator,
not the target, was the bottleneck. The reference tools themselves are run by
`benchmarks.load_tools`."""

from __future__ import annotations

import asyncio
import struct
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import grpc
from envoy.service.auth.v3 import external_auth_pb2, external_auth_pb2_grpc

from benchmarks.load_tools import (
    AUTHORITY,
    CHECK_PATH,
    CONCURRENCY,
    h2load,
    locust,
    rate_figures,
    wrk,
)
from simulator.bench import backends
from simulator.h2_grpc import GrpcChannel
from simulator.load import closed_loop_submitted, plane_submitter
from simulator.model import ClientRequest, DirectResponse, Route
from simulator.real_envoy import RealEnvoy, find_envoy
from simulator.settings import EnvoySettings


async def kit_http(envoy: RealEnvoy, duration: float, requests: int) -> dict[str, Any]:
    """The kit's HTTP driver as ``asmkit bench`` runs it through a real Envoy (``--data-plane
    envoy``): `simulator.load.closed_loop_submitted` over `RealEnvoy.submit` (each answer's
    callback records its latency and outcome and sends the next request), 32 in flight."""
    request = ClientRequest(path="/orders/1", authority=AUTHORITY)
    submit = plane_submitter(envoy, lambda _: request)
    cpu, wall = time.process_time(), time.perf_counter()
    result = await closed_loop_submitted(submit, CONCURRENCY, count=requests, duration_s=duration)
    figures = rate_figures(
        result.completed,
        time.perf_counter() - wall,
        time.process_time() - cpu,
        "asmkit (closed loop on RealEnvoy.submit)",
    )
    figures["errors"] = result.errors
    return figures


async def kit_http_tracked(
    settings: EnvoySettings, echo_port: int, duration: float, requests: int
) -> dict[str, Any]:
    """`kit_http` through an Envoy whose every answer is matched to its access-log line (the
    decision) and its upstream request, as live what-ifs and conformance use it."""
    envoy = RealEnvoy(settings, f"http://127.0.0.1:{echo_port}", [Route(disabled=True)])
    await envoy.start()
    try:
        figures = await kit_http(envoy, duration, requests)
    finally:
        await envoy.close()
    figures["tool"] = "asmkit (closed loop on RealEnvoy, decisions tracked)"
    return figures


async def aiohttp_http(url: str, duration: float, requests: int) -> dict[str, Any]:
    """The same load from aiohttp (the kit's client before its own): the reason it changed."""
    done = 0
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + duration

        async def worker() -> None:
            nonlocal done
            while done < requests and loop.time() < deadline:
                async with session.get(url, headers={"host": AUTHORITY}) as resp:
                    await resp.read()
                done += 1

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return rate_figures(done, time.perf_counter() - wall, time.process_time() - cpu, "aiohttp")


def check_request() -> external_auth_pb2.CheckRequest:
    req = external_auth_pb2.CheckRequest()
    http = req.attributes.request.http
    http.method, http.path, http.host = "GET", "/orders/1", AUTHORITY
    http.headers["client_id"] = "abc"
    req.attributes.context_extensions["api_id"] = "10001"
    return req


async def kit_grpc(port: int, duration: float, requests: int) -> dict[str, Any]:
    """The kit's gRPC ext_authz driver: grpc.aio, one channel, 32 concurrent, closed loop."""
    done = 0
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = external_auth_pb2_grpc.AuthorizationStub(channel)
        req = check_request()
        await stub.Check(req)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + duration

        async def worker() -> None:
            nonlocal done
            while done < requests and loop.time() < deadline:
                await stub.Check(req)
                done += 1

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return rate_figures(
            done, time.perf_counter() - wall, time.process_time() - cpu, "asmkit (grpc.aio)"
        )


async def kit_h2(port: int, duration: float, requests: int) -> dict[str, Any]:
    """The kit's own HTTP/2 gRPC client (`simulator.h2_grpc`): one connection, 32 concurrent
    streams, closed loop; each call serializes its request and parses its response, as the
    grpc.aio stub does."""
    done = 0
    channel = GrpcChannel("127.0.0.1", port)
    try:
        req = check_request()
        parse = external_auth_pb2.CheckResponse.FromString
        await channel.unary(CHECK_PATH, req.SerializeToString(), timeout=None)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + duration

        async def worker() -> None:
            nonlocal done
            while done < requests and loop.time() < deadline:
                parse(await channel.unary(CHECK_PATH, req.SerializeToString(), timeout=None))
                done += 1

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return rate_figures(
            done, time.perf_counter() - wall, time.process_time() - cpu, "asmkit (own HTTP/2)"
        )
    finally:
        await channel.close()


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None, key: str) -> float | None:
    if not a or not b or not a.get(key) or not b.get(key):
        return None
    return round(float(a[key]) / float(b[key]), 3)


def grpc_body(path: Path) -> Path:
    data = check_request().SerializeToString()
    path.write_bytes(struct.pack(">BI", 0, len(data)) + data)
    return path


async def _bench(duration_s: float, requests: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async with backends() as ports:
        if find_envoy() is not None:
            settings = EnvoySettings(transport="http", authz_port=ports["http"], timeout_ms=1000)
            envoy = RealEnvoy(
                settings, f"http://127.0.0.1:{ports['echo']}", [Route(disabled=True)], track=False
            )
            await envoy.start()
            try:
                url = envoy.listener_url + "/orders/1"
                pairs = []
                for _ in range(ROUNDS):  # alternately: the noise moves a round, not the median
                    kit = await kit_http(envoy, duration_s, requests)
                    pairs.append((kit, await asyncio.to_thread(wrk, url, duration_s)))
                row = _median_row(
                    "HTTP through real Envoy to the echo upstream: asmkit vs wrk", pairs, 0.5
                )
                out.append(row)
                base = row["baseline"]
                tracked = await kit_http_tracked(settings, ports["echo"], duration_s, requests)
                out.append(
                    _row(
                        "HTTP through real Envoy, each decision read from its access log"
                        " (as live what-ifs run): asmkit vs wrk (context)",
                        tracked,
                        base,
                        0.0,
                    )
                )
                old = await aiohttp_http(url, duration_s, requests)
                out.append(
                    _row("HTTP through real Envoy: aiohttp vs wrk (context)", old, base, 0.0)
                )
                one = await asyncio.to_thread(locust, url, 1, duration_s)
                two = await asyncio.to_thread(locust, url, 2, duration_s)
                name = (
                    "Locust: 2 workers vs 1, unconstrained, through real Envoy to the echo"
                    " upstream (context: the target shares this machine's CPUs)"
                )
                out.append(_row(name, two, one, 0.0, key="rate"))
            finally:
                await envoy.close()
            out.append(await locust_scaling(settings, ports["echo"], duration_s))
        out.extend(await grpc_rows(ports["grpc"], duration_s, requests))
    return out


CPU_PER_WORKER = 0.35
"""Each Locust worker's CPU in the scaling row: a worker held to a fixed budget stands for one
load machine. The three workers of a round (one run of one, one of two) and the Envoy they
drive take about 1.5 of two CPUs; what other work takes from them it takes from both runs
alike, as they run at the same time."""


async def locust_scaling(
    settings: EnvoySettings, echo_port: int, duration_s: float
) -> dict[str, Any]:
    """Locust's scaling row: 2 workers versus 1, each held to `CPU_PER_WORKER`, against an
    Envoy answering itself (a direct response, no upstream: the cheapest real target, so the
    target is not what limits the rate). Each of `LOCUST_ROUNDS` rounds runs a one-worker and
    a two-worker Locust side by side, at the same time (a capped worker's rate moves by a tenth
    or more from minute to minute on a shared machine, alike for every worker running then),
    each at least `LOCUST_SECONDS` (Locust's spawning and first connections weigh on a short
    run); the median round's figures, with every round's ratio."""
    route = Route(disabled=True, direct_response=DirectResponse(status=200, body="ok"))
    envoy = RealEnvoy(settings, f"http://127.0.0.1:{echo_port}", [route], track=False)
    await envoy.start()
    seconds = max(duration_s, LOCUST_SECONDS)
    pairs: list[tuple[dict[str, Any] | None, dict[str, Any] | None]] = []
    try:
        url = envoy.listener_url + "/orders/1"
        for _ in range(LOCUST_ROUNDS):
            one, two = await asyncio.gather(
                asyncio.to_thread(locust, url, 1, seconds, CPU_PER_WORKER),
                asyncio.to_thread(locust, url, 2, seconds, CPU_PER_WORKER),
            )
            pairs.append((two, one))
    finally:
        await envoy.close()
    name = (
        f"Locust: 2 workers vs 1, side by side, each worker held to {CPU_PER_WORKER} CPU (one"
        " machine each), Envoy answering itself"
    )
    return _median_row(name, pairs, 1.8, key="rate")


LOCUST_SECONDS = 8.0
"""The shortest Locust run in the scaling row."""
LOCUST_ROUNDS = 5
"""Rounds in the scaling row: each worker's own rate per CPU-second still varies by a few
percent from one process to the next, so a single round's ratio does too."""


async def grpc_rows(port: int, duration_s: float, requests: int) -> list[dict[str, Any]]:
    """The gRPC rows: the kit's own HTTP/2 client, each of `ROUNDS` runs beside an h2load run
    of as many requests as it made (alternately, the same target), and grpc.aio once beside
    the median round's h2load run."""
    name = "ext_authz gRPC to an allow-all server: asmkit (own HTTP/2) vs h2load"
    with tempfile.TemporaryDirectory() as tmp:
        body = grpc_body(Path(tmp) / "check.bin")
        pairs = []
        for _ in range(ROUNDS):
            own = await kit_h2(port, duration_s, requests)
            count = max(1000, int(own["rate"] * duration_s))
            pairs.append((own, await asyncio.to_thread(h2load, port, body, count)))
    row = _median_row(name, pairs, 0.5)
    aio = await kit_grpc(port, duration_s, requests)
    return [row, _row("ext_authz gRPC: grpc.aio vs h2load (context)", aio, row["baseline"], 0.0)]


ROUNDS = 3
"""The HTTP and gRPC rows measure the kit and its reference tool alternately this many times
and report the median round (its figures, and every round's ratio): on a shared machine a
burst of other work moves one round, not the median."""


def _median_row(
    name: str,
    pairs: Sequence[tuple[dict[str, Any] | None, dict[str, Any] | None]],
    target: float,
    key: str = "rate_per_core",
) -> dict[str, Any]:
    """The row of the round with the median ratio of ``key`` (of two, the lower; the first
    round when no ratio could be taken), with ``round_ratios``: each round's, in the order
    run."""
    ratios = [_ratio(kit, base, key) for kit, base in pairs]
    taken = sorted((r, i) for i, r in enumerate(ratios) if r is not None)
    index = taken[(len(taken) - 1) // 2][1] if taken else 0
    row = _row(name, pairs[index][0], pairs[index][1], target, key=key)
    row["round_ratios"] = ratios
    return row


def _row(
    name: str,
    figures: dict[str, Any] | None,
    baseline: dict[str, Any] | None,
    target: float,
    key: str = "rate_per_core",
) -> dict[str, Any]:
    ratio = _ratio(figures, baseline, key)
    return {
        "name": name,
        "figures": figures,
        "baseline": baseline,
        "ratio": ratio,
        "ratio_of": key,
        "target": target,
        "meets_target": None if ratio is None else ratio >= target,
    }


def run(duration_s: float = 3.0, requests: int = 20_000) -> list[dict[str, Any]]:
    if duration_s <= 0 or requests <= 0:
        raise ValueError(
            f"bench load: duration_s={duration_s!r} and requests={requests!r} must be > 0"
        )
    return asyncio.run(_bench(duration_s, requests))


async def _grpc_only(duration_s: float, requests: int) -> list[dict[str, Any]]:
    async with backends() as ports:
        return await grpc_rows(ports["grpc"], duration_s, requests)


def run_grpc(duration_s: float = 3.0, requests: int = 20_000) -> list[dict[str, Any]]:
    """Only the gRPC rows (``python -m benchmarks.load grpc [duration_s] [requests]``)."""
    if duration_s <= 0 or requests <= 0:
        raise ValueError(
            f"bench load: duration_s={duration_s!r} and requests={requests!r} must be > 0"
        )
    return asyncio.run(_grpc_only(duration_s, requests))


if __name__ == "__main__":
    import json

    args = sys.argv[1:]
    only_grpc = bool(args) and args[0] == "grpc"
    numbers = args[1:] if only_grpc else args
    duration = float(numbers[0]) if numbers else 3.0
    count = int(numbers[1]) if len(numbers) > 1 else 20_000
    for result in (run_grpc if only_grpc else run)(duration, count):
        print(json.dumps(result), flush=True)
