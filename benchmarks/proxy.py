"""``asmkit bench proxy``: the adapter's sync calls (contracts feed) and analytics posts through
mitmproxy (HTTPS to the proxy as a hard-wired adapter makes them, the proxy forwarding to the
fake) side by side with the same calls straight to the fake, and the ratio between them."""

from __future__ import annotations

import asyncio
import gzip
import json
import ssl
import time
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp

from common.clock import MonotonicClock
from fake_anypoint import ControlPlaneServer, ControlPlaneState
from live.proxy_link import kit_ca
from proxy.control import ProxyControl
from proxy.mitmdump import MitmProxy, ProxySettings

CONCURRENCY = 8
EVENTS_PER_BATCH = 50
PLATFORM = "anypoint.mulesoft.com"
INGEST = "analytics-ingest.anypoint.mulesoft.com"

Call = Callable[[aiohttp.ClientSession, int], Any]


async def _measure(
    session: aiohttp.ClientSession, call: Call, duration_s: float, requests: int
) -> dict[str, float]:
    """Calls per second at ``CONCURRENCY``, bounded by count and time; p50/p99 latency."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(requests))
    deadline = time.perf_counter() + duration_s

    async def worker() -> None:
        nonlocal errors
        for i in counter:
            if time.perf_counter() >= deadline:
                return
            start = time.perf_counter()
            async with call(session, i) as response:
                await response.read()
                errors += response.status >= 300
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    elapsed = max(time.perf_counter() - start, 1e-9)
    latencies.sort()

    def pct(q: float) -> float:
        return round(latencies[int(q * (len(latencies) - 1))] * 1000, 2) if latencies else 0.0

    return {
        "calls_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
        "calls": len(latencies),
        "errors": errors,
    }


def _state() -> tuple[ControlPlaneState, int]:
    state = ControlPlaneState(clock=MonotonicClock(), seed=0)
    seeded = state.seed(
        {
            "apis": [{"key": "orders", "policies": [{"asset_id": "client-id-enforcement"}]}],
            "applications": [{"key": f"app{i}"} for i in range(20)],
            "contracts": [{"application": f"app{i}", "api": "orders"} for i in range(20)],
        }
    )
    return state, seeded.apis["orders"]


def _batch() -> bytes:
    events = [{"event_id": str(uuid.uuid4()), "status_code": 200} for _ in range(EVENTS_PER_BATCH)]
    return gzip.compress(json.dumps(events).encode())


async def _token(session: aiohttp.ClientSession, base: str, state: ControlPlaneState) -> str:
    app = state.connected_app
    body = {"client_id": app.client_id, "client_secret": app.client_secret}
    async with session.post(f"{base}/accounts/api/v2/oauth2/token", json=body) as response:
        return str((await response.json())["access_token"])


def _calls(
    platform: str, ingest: str, state: ControlPlaneState, api: int, token: str
) -> dict[str, Call]:
    scope = f"/apigateway/ccs/v3/organizations/{state.org_id}/environments/{state.env_id}"
    auth = {"Authorization": f"Bearer {token}"}
    batch = _batch()
    post_headers = {**auth, "Content-Encoding": "gzip", "Content-Type": "application/json"}

    def sync(session: aiohttp.ClientSession, _: int) -> Any:
        return session.get(f"{platform}{scope}/apis/{api}/contracts", headers=auth)

    def post(session: aiohttp.ClientSession, i: int) -> Any:
        headers = {**post_headers, "X-Batch-Id": str(uuid.UUID(int=i))}
        return session.post(f"{ingest}/v2/analytics/events", data=batch, headers=headers)

    return {"sync": sync, "ingest": post}


async def _bench(duration_s: float, requests: int) -> list[dict[str, Any]]:
    state, api = _state()
    ca = kit_ca()
    async with ControlPlaneServer(state) as server:
        proxy = MitmProxy(ProxySettings(ca, {PLATFORM: "platform", INGEST: "ingest"}))
        await asyncio.to_thread(proxy.start)
        try:
            routes = {PLATFORM: server.base_url, INGEST: server.ingest_url}
            await ProxyControl(proxy).set_routes(routes, {PLATFORM: "platform", INGEST: "ingest"})
            tls = ssl.create_default_context(cafile=str(ca.cert))
            direct = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY))
            proxied = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=CONCURRENCY, ssl=tls), proxy=proxy.proxy_url
            )
            async with direct, proxied:
                token = await _token(direct, server.base_url, state)
                plain = _calls(server.base_url, server.ingest_url, state, api, token)
                through = _calls(f"https://{PLATFORM}", f"https://{INGEST}", state, api, token)
                rows = []
                for kind in ("sync", "ingest"):
                    baseline = await _measure(direct, plain[kind], duration_s, requests)
                    figures = await _measure(proxied, through[kind], duration_s, requests)
                    rows.append(_row(kind, figures, baseline))
                return rows
        finally:
            await asyncio.to_thread(proxy.stop)


def _row(kind: str, figures: dict[str, float], baseline: dict[str, float]) -> dict[str, Any]:
    ratio = figures["calls_per_s"] / baseline["calls_per_s"] if baseline["calls_per_s"] else 0.0
    return {
        "name": f"proxy-{kind}",
        "figures": {"through_proxy": figures, "concurrency": CONCURRENCY},
        "baseline": {"direct": baseline},
        "ratio": round(ratio, 3),
        "note": "through the proxy: HTTPS to mitmproxy, which forwards to the fake; direct: "
        "HTTP straight to the fake (what a profile without the proxy does)",
    }


def run(duration_s: float = 3.0, requests: int = 20_000) -> list[dict[str, Any]]:
    if duration_s <= 0 or requests <= 0:
        raise ValueError(f"duration_s={duration_s} and requests={requests}: both must be positive")
    return asyncio.run(_bench(duration_s, requests))
