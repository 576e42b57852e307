"""A loopback benchmark of the fake's hot endpoints against a trivial aiohttp handler.

``run(duration_s, requests)`` measures token, policies, contracts feed and analytics ingest with
an aiohttp client at concurrency 16, each case bounded by both a request count and a duration.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web

from common.clock import MonotonicClock
from common.histogram import LogHistogram

from .server import ControlPlaneServer, bound_port
from .state import ControlPlaneState

CONCURRENCY = 16
EVENTS_PER_BATCH = 50

RequestFactory = Callable[[int], tuple[str, str, dict[str, Any]]]


async def _load(
    session: aiohttp.ClientSession,
    make: RequestFactory,
    duration_s: float,
    requests: int,
    expect: int,
) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(requests))
    deadline = time.perf_counter() + duration_s

    async def worker() -> None:
        nonlocal errors
        for i in counter:
            if time.perf_counter() >= deadline:
                return
            method, url, kwargs = make(i)
            start = time.perf_counter()
            async with session.request(method, url, **kwargs) as resp:
                await resp.read()
                if resp.status != expect:
                    errors += 1
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    elapsed = max(time.perf_counter() - start, 1e-9)
    hist = LogHistogram.of(latencies)
    return {
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round((hist.percentile(50) or 0.0) * 1000, 3),
        "p99_ms": round((hist.percentile(99) or 0.0) * 1000, 3),
        "requests": len(latencies),
        "errors": errors,
    }


async def _baseline_app() -> tuple[web.AppRunner, str]:
    async def ok(_: web.Request) -> web.Response:
        return web.Response(text='{"ok": true}', content_type="application/json")

    app = web.Application()
    app.router.add_get("/", ok)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{bound_port(site)}/"


async def _cases(
    session: aiohttp.ClientSession,
    server: ControlPlaneServer,
    state: ControlPlaneState,
    api_id: int,
) -> list[tuple[str, RequestFactory, int]]:
    """The measured requests: a token, a policies read, a feed page, an analytics batch."""
    app = state.connected_app
    creds = {
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "grant_type": "client_credentials",
    }
    async with session.post(server.base_url + "/accounts/api/v2/oauth2/token", json=creds) as resp:
        token = (await resp.json())["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    ccs = (
        f"{server.base_url}/apigateway/ccs/v3/organizations/{state.org_id}"
        f"/environments/{state.env_id}/apis/{api_id}"
    )
    events = [
        {"event_id": str(i), "api_id": str(api_id), "status_code": 200}
        for i in range(EVENTS_PER_BATCH)
    ]
    body = gzip.compress(json.dumps(events).encode())
    ingest_headers = {
        **auth,
        "Content-Encoding": "gzip",
        "Content-Type": "application/json",
    }
    cases: list[tuple[str, RequestFactory, int]] = [
        (
            "token",
            lambda i: (
                "POST",
                server.base_url + "/accounts/api/v2/oauth2/token",
                {"json": creds},
            ),
            200,
        ),
        ("policies", lambda i: ("GET", ccs + "/policies", {"headers": auth}), 200),
        (
            "contracts_feed",
            lambda i: ("GET", ccs + "/contracts?limit=100", {"headers": auth}),
            200,
        ),
        (
            "analytics_ingest",
            lambda i: (
                "POST",
                server.ingest_url + "/v2/analytics/events",
                {
                    "data": body,
                    "headers": {**ingest_headers, "X-Batch-Id": str(uuid.uuid4())},
                },
            ),
            202,
        ),
    ]
    return cases


async def _run(duration_s: float, requests: int) -> list[dict[str, Any]]:
    state = ControlPlaneState(clock=MonotonicClock(), seed=0)
    seeded = state.seed(
        {
            "apis": [
                {
                    "key": "orders",
                    "policies": [
                        {"asset_id": "client-id-enforcement"},
                        {"asset_id": "rate-limiting", "configuration": {"rateLimits": []}},
                    ],
                }
            ],
            "applications": [{"key": f"app{i}"} for i in range(50)],
            "contracts": [{"application": f"app{i}", "api": "orders"} for i in range(50)],
        }
    )
    api_id = seeded.apis["orders"]
    server = ControlPlaneServer(state)
    await server.start()
    baseline_runner, baseline_url = await _baseline_app()
    try:
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector) as session:
            cases = await _cases(session, server, state, api_id)
            baseline = await _load(
                session, lambda i: ("GET", baseline_url, {}), duration_s, requests, 200
            )
            out = []
            for name, make, expect in cases:
                figures = await _load(session, make, duration_s, requests, expect)
                ratio = round(figures["rps"] / baseline["rps"], 3) if baseline["rps"] else 0.0
                out.append(
                    {
                        "name": f"control-plane/{name}",
                        "figures": figures,
                        "baseline": baseline,
                        "ratio": ratio,
                    }
                )
            return out
    finally:
        await server.stop()
        await baseline_runner.cleanup()


def run(duration_s: float = 2.0, requests: int = 2000) -> list[dict[str, Any]]:
    """Benchmark the fake; each case stops at ``requests`` requests or ``duration_s`` seconds."""
    if duration_s <= 0 or requests < 1:
        raise ValueError(
            f"run(duration_s={duration_s!r}, requests={requests!r}): both must be positive"
        )
    return asyncio.run(_run(duration_s, requests))


if __name__ == "__main__":
    for row in run():
        print(json.dumps(row))
