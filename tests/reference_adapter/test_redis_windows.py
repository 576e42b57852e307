"""RedisWindows against a real redis-server (marked ``redis``): exact fixed windows shared by
replicas, several limits atomically, and the per-replica fallback when Redis is down."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import threading
import time
from typing import Any

import pytest

from reference_adapter import DecisionEngine, SlaLimit
from reference_adapter.redis_windows import RedisWindows
from tests.conftest import require_tool

from .helpers import API, policy, req

pytestmark = pytest.mark.redis


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def redis_url():
    binary = require_tool("redis-server", "apt-get install redis-server")
    port = _free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            threading.Event().wait(0.02)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def test_windows_shared_and_exact(redis_url):
    async def go() -> Any:
        a, b = RedisWindows.from_url(redis_url, "t1:"), RedisWindows.from_url(redis_url, "t1:")
        limits = (SlaLimit(3, 60_000), SlaLimit(2, 300))
        try:
            results = [await w.hit_async("k", limits, 0.0) for w in (a, b, a)]
            await asyncio.sleep(0.35)
            later = [await w.hit_async("k", limits, 0.0) for w in (b, a)]
        finally:
            await a.aclose()
            await b.aclose()
        return results, later

    results, later = asyncio.run(go())
    assert [r.allowed for r in results] == [True, True, False]
    assert (results[0].limit, results[0].remaining) == (2, 1)
    assert 0 < results[2].reset_ms <= 300
    assert [r.allowed for r in later] == [
        True,
        False,
    ]  # the 2/300ms window reopened; 3/min is spent
    assert later[1].limit == 3 and later[1].remaining == 0


def test_concurrent_replicas_never_exceed_the_quota(redis_url):
    async def go() -> Any:
        stores = [RedisWindows.from_url(redis_url, "t2:") for _ in range(4)]
        limits = (SlaLimit(25, 60_000),)
        try:
            results = await asyncio.gather(
                *(s.hit_async("k", limits, 0.0) for s in stores for _ in range(20))
            )
        finally:
            for s in stores:
                await s.aclose()
        return results

    assert sum(r.allowed for r in asyncio.run(go())) == 25


def test_engines_share_quota_through_redis(redis_url):
    async def go() -> Any:
        stores = [RedisWindows.from_url(redis_url, "t3:") for _ in range(2)]
        engines = [DecisionEngine(shared_windows=s) for s in stores]
        limited = policy(
            "rate-limiting",
            {"rateLimits": [{"maximumRequests": 3, "timePeriodInMilliseconds": 60000}]},
        )
        for engine in engines:
            engine.load_policies(API, [limited])
        assert engines[0].needs_async(API)
        statuses = []
        for i in range(6):
            statuses.append((await engines[i % 2].decide_async(req(), 0.0)).status)
        for s in stores:
            await s.aclose()
        return statuses

    assert asyncio.run(go()) == [200, 200, 200, 429, 429, 429]


def test_fallback_when_redis_is_down():
    async def go() -> Any:
        store = RedisWindows.from_url(f"redis://127.0.0.1:{_free_port()}/0")
        limits = (SlaLimit(1, 60_000),)
        try:
            return [await store.hit_async("k", limits, 0.0) for _ in range(2)], store.fallbacks
        finally:
            await store.aclose()

    results, fallbacks = asyncio.run(go())
    assert [r.allowed for r in results] == [True, False] and fallbacks == 2


def test_two_live_replicas_share_quota(redis_url):
    from .fake_platform import FakePlatform
    from .grpc_helpers import call_check, check_request
    from .test_adapter import run, settings

    fake = FakePlatform()
    limits = [{"maximumRequests": 3, "timePeriodInMilliseconds": 60000}]
    fake.add_api("10001", [policy("rate-limiting", {"rateLimits": limits, "clusterizable": True})])

    async def scenario():
        from reference_adapter import ReferenceAdapter

        replicas = [
            ReferenceAdapter(settings(redis_url=redis_url, adapter_id=f"r{i}")) for i in range(2)
        ]
        for adapter in replicas:
            await adapter.start()
        try:
            for adapter in replicas:
                await adapter.wait_ready(3.0)
            codes = []
            for i in range(6):
                response = await call_check(replicas[i % 2].grpc_port, check_request())
                codes.append(response.denied_response.status.code or 200)
            return codes
        finally:
            for adapter in replicas:
                await adapter.stop()

    assert run(fake, scenario) == [200, 200, 200, 429, 429, 429]
