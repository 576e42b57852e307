"""Micro-benchmark of the reference adapter's data-plane faces: checks/s and p50/p99 latency
of the gRPC and HTTP faces with client-id-enforcement + rate-limiting applied, side by side
with a trivial allow-all server on the same stack. Client and server share one event loop on
127.0.0.1, so absolute figures are a floor; the ratio is the point."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import grpc
from envoy.service.auth.v3 import external_auth_pb2, external_auth_pb2_grpc

from common.histogram import LogHistogram
from reference_adapter.batcher import AnalyticsBatcher
from reference_adapter.engine import DecisionEngine
from reference_adapter.events import EventFactory
from reference_adapter.grpc_face import start_grpc_server
from reference_adapter.http_face import start_http_server
from reference_adapter.model import CheckInput, Decision

API_ID = "10001"
CONCURRENCY = 16
GROUP = "68ef9520-24e9-4cf2-b2f5-620025690913"

Handler = Callable[[CheckInput], Awaitable[Decision]]


def bench_engine() -> DecisionEngine:
    """An engine with client-id-enforcement and a (generous) rate limit on one API."""
    engine = DecisionEngine()
    engine.set_apis([API_ID])
    template = {"groupId": GROUP, "assetVersion": "1.0.0"}
    engine.load_policies(
        API_ID,
        [
            {
                "policyId": 1,
                "order": 1,
                "template": {**template, "assetId": "client-id-enforcement"},
                "configuration": {
                    "clientIdExpression": "#[attributes.headers['client_id']]",
                    "clientSecretExpression": "#[attributes.headers['client_secret']]",
                },
            },
            {
                "policyId": 2,
                "order": 2,
                "template": {**template, "assetId": "rate-limiting"},
                "configuration": {
                    "rateLimits": [
                        {"maximumRequests": 1_000_000_000, "timePeriodInMilliseconds": 60_000}
                    ]
                },
            },
        ],
    )
    engine.load_contracts(
        API_ID,
        [
            {"contractId": i, "clientId": f"app-{i}", "clientSecret": "s", "status": "APPROVED"}
            for i in range(100)
        ],
    )
    return engine


def adapter_handler(requests: int) -> Handler:
    """Decide and record analytics, as `ReferenceAdapter.handle` does; full batches are handed
    off as the live adapter posts them (the post itself is not measured)."""
    engine = bench_engine()
    rng = random.Random(1)
    events = EventFactory("org", "bench", rng)
    batcher: AnalyticsBatcher[dict[str, Any]] = AnalyticsBatcher(rng, interval_s=1.0)

    async def handle(request: CheckInput) -> Decision:
        received = time.time()
        now = time.monotonic()
        decision = engine.decide(request, now)
        batcher.add(events.build(request, decision, received, time.time()))
        if batcher.is_due(now):
            batch = batcher.take(now)
            if batch is not None:
                batcher.on_success(batch, now)
        return decision

    return handle


async def allow_all(request: CheckInput) -> Decision:
    return Decision(request.api_id)


def _figures(latencies: list[float], elapsed: float, errors: int) -> dict[str, float]:
    n = len(latencies)
    hist = LogHistogram.of(latencies)

    def pct(p: float) -> float:
        return round(1000 * (hist.percentile(100 * p) or 0.0), 3)

    return {
        "checks": n,
        "errors": errors,
        "checks_per_s": round(n / elapsed, 1) if elapsed > 0 else 0.0,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
    }


async def _drive(
    call: Callable[[], Awaitable[bool]], duration_s: float, requests: int
) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    remaining = requests
    loop = asyncio.get_running_loop()
    deadline = loop.time() + duration_s

    async def worker() -> None:
        nonlocal remaining, errors
        while remaining > 0 and loop.time() < deadline:
            remaining -= 1
            start = time.perf_counter()
            ok = await call()
            latencies.append(time.perf_counter() - start)
            errors += not ok

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return _figures(latencies, time.perf_counter() - started, errors)


def _check_request() -> external_auth_pb2.CheckRequest:
    request = external_auth_pb2.CheckRequest()
    http = request.attributes.request.http
    http.method, http.path, http.host = "GET", "/orders", "orders.svc"
    for key, value in {
        ":method": "GET",
        ":path": "/orders",
        ":authority": "orders.svc",
        "client_id": "app-7",
        "client_secret": "s",
        "user-agent": "bench",
    }.items():
        http.headers[key] = value
    request.attributes.source.address.socket_address.address = "127.0.0.1"
    request.attributes.context_extensions["api_id"] = API_ID
    return request


async def _grpc_run(handler: Handler, duration_s: float, requests: int) -> dict[str, float]:
    server, port = await start_grpc_server(handler, 0)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = external_auth_pb2_grpc.AuthorizationStub(channel)
            message = _check_request()

            async def call() -> bool:
                response = await stub.Check(message, timeout=5.0)
                return bool(response.status.code == 0)

            return await _drive(call, duration_s, requests)
    finally:
        await server.stop(None)


async def _http_run(handler: Handler, duration_s: float, requests: int) -> dict[str, float]:
    runner, port = await start_http_server(handler, 0)
    url = f"http://127.0.0.1:{port}/orders"
    headers = {"x-asm-api-id": API_ID, "client_id": "app-7", "client_secret": "s"}
    try:
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def call() -> bool:
                async with session.get(url, headers=headers) as response:
                    await response.read()
                    return response.status == 200

            return await _drive(call, duration_s, requests)
    finally:
        await runner.cleanup()


def _core_run(
    engine: DecisionEngine, request: CheckInput, duration_s: float, requests: int
) -> dict[str, float]:
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + duration_s
    decide = engine.decide
    while len(latencies) < requests and time.perf_counter() < deadline:
        for _ in range(min(1000, requests - len(latencies))):
            t = time.perf_counter()
            decide(request, t)
            latencies.append(time.perf_counter() - t)
    return _figures(latencies, time.perf_counter() - started, 0)


def _row(name: str, figures: dict[str, float], baseline: dict[str, float]) -> dict[str, Any]:
    base = baseline["checks_per_s"]
    return {
        "name": name,
        "figures": figures,
        "baseline": baseline,
        "ratio": round(figures["checks_per_s"] / base, 3) if base else 0.0,
    }


def run(duration_s: float = 2.0, requests: int = 5000) -> list[dict[str, Any]]:
    """Benchmark both faces; each face runs at most ``requests`` checks and ``duration_s``
    seconds, once with the adapter's policies and once allow-all. ``ratio`` is adapter
    checks/s over allow-all checks/s."""

    async def main() -> list[dict[str, Any]]:
        rows = []
        for name, runner in (("grpc", _grpc_run), ("http", _http_run)):
            baseline = await runner(allow_all, duration_s, requests)
            figures = await runner(adapter_handler(requests), duration_s, requests)
            rows.append(_row(f"{name}: client-id-enforcement + rate-limiting", figures, baseline))
        request = CheckInput(API_ID, "GET", "/orders", {"client_id": "app-7", "client_secret": "s"})
        empty = DecisionEngine()
        empty.load_policies(API_ID, [])
        baseline = _core_run(empty, request, duration_s, requests)
        figures = _core_run(bench_engine(), request, duration_s, requests)
        rows.append(
            _row("core: DecisionEngine.decide, no I/O (baseline: no policies)", figures, baseline)
        )
        return rows

    return asyncio.run(main())


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
