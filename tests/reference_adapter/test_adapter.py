"""The live adapter end to end: respx stands in for the control plane, a real gRPC client
plays Envoy. Sync intervals are shortened so each test runs in well under a second."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import respx

from reference_adapter.adapter import ReferenceAdapter
from reference_adapter.settings import ReferenceAdapterConfig

from .fake_platform import ENV, INGEST, ORG, PLATFORM, FakePlatform
from .grpc_helpers import call_check, check_request
from .helpers import client_id_policy, contract

GOOD = {"client_id": "app-1", "client_secret": "s3cret"}


def settings(**overrides: Any) -> ReferenceAdapterConfig:
    values: dict[str, Any] = {
        "platform_url": PLATFORM,
        "ingest_url": INGEST,
        "client_id": "cp-client",
        "client_secret": "cp-secret",
        "org_id": ORG,
        "env_id": ENV,
        "policies_interval": 0.05,
        "contracts_interval": 0.05,
        "keepalive_interval": 0.05,
        "analytics_interval": 0.05,
        "sync_backoff_base": 0.02,
        "sync_backoff_max": 0.05,
        "analytics_retry_base": 0.02,
        "analytics_retry_max": 0.05,
        "seed": 7,
    }
    values.update(overrides)
    return ReferenceAdapterConfig(**values)


def platform_with_api() -> FakePlatform:
    fake = FakePlatform()
    fake.add_api("10001", [client_id_policy()])
    for i, cid in enumerate(("app-1", "app-2", "app-3")):
        fake.put_contract("10001", contract(cid, "s3cret", contract_id=7001 + i))
    return fake


def run(fake: FakePlatform, scenario: Callable[[], Awaitable[Any]]) -> Any:
    async def go() -> Any:
        with respx.mock(assert_all_called=False) as router:
            fake.install(router)
            return await asyncio.wait_for(scenario(), 10.0)

    return asyncio.run(go())


async def eventually(predicate: Callable[[], object], timeout: float = 3.0) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


async def status_of(
    adapter: ReferenceAdapter, headers: dict[str, str] | None = None, **kwargs: Any
) -> int:
    response = await call_check(adapter.grpc_port, check_request(headers, **kwargs))
    if response.status.code == 0:
        return 200
    return int(response.denied_response.status.code)


def test_enforces_contracts_and_follows_revocation():
    fake = platform_with_api()

    async def scenario():
        adapter = ReferenceAdapter(settings())
        await adapter.start()
        try:
            await adapter.wait_ready(3.0)
            assert await status_of(adapter, GOOD) == 200
            assert await status_of(adapter, {"client_id": "app-1", "client_secret": "x"}) == 401
            assert await status_of(adapter, GOOD, api_id="999") == 403
            denied = await call_check(adapter.grpc_port, check_request({}))
            assert json.loads(denied.denied_response.body) == {
                "error": "missing client credentials"
            }
            fake.put_contract(
                "10001", contract("app-1", contract_id=7001, status="REVOKED", removed=True)
            )
            fake.put_contract("10001", contract("app-9", "nine", contract_id=7009))
            await eventually(lambda: "app-1" not in adapter.engine.contracts.table("10001"))
            assert await status_of(adapter, GOOD) == 401
            assert await status_of(adapter, {"client_id": "app-9", "client_secret": "nine"}) == 200
            assert set(adapter.engine.contracts.table("10001")) == {"app-2", "app-3", "app-9"}
        finally:
            await adapter.stop()
        return adapter

    adapter = run(fake, scenario)
    assert fake.keepalives and fake.keepalives[0]["apiIds"] == [10001]
    assert fake.keepalives[0]["adapterId"] == "reference-adapter"
    feed_urls = [str(r.url) for r in fake.requests if "contracts" in r.url.path]
    assert "offset=2" in feed_urls[1]  # the snapshot spanned two pages (links.next followed)
    assert any("updatedSince" in u for u in feed_urls)
    api = adapter.engine.api("10001")
    assert api is not None and api.policies_version == "1"


def test_gatekeeper_503_until_first_sync():
    fake = platform_with_api()
    fake.down = True

    async def scenario():
        adapter = ReferenceAdapter(settings())
        await adapter.start()
        try:
            await asyncio.sleep(0.1)
            response = await call_check(adapter.grpc_port, check_request(GOOD))
            assert response.denied_response.status.code == 503
            assert adapter.policies_schedule.failures >= 2  # retried with backoff
            fake.down = False
            await adapter.wait_ready(3.0)
            assert await status_of(adapter, GOOD) == 200
        finally:
            await adapter.stop()

    run(fake, scenario)


@pytest.mark.parametrize(("gatekeeper", "during_outage"), [("flexible", 200), ("strict", 503)])
def test_outage_flexible_keeps_enforcing_strict_blocks(gatekeeper, during_outage):
    fake = platform_with_api()

    async def scenario():
        adapter = ReferenceAdapter(settings(gatekeeper=gatekeeper))
        await adapter.start()
        try:
            await adapter.wait_ready(3.0)
            fake.down = True
            await eventually(lambda: adapter.contracts_schedule.failures > 0)
            await eventually(lambda: adapter.policies_schedule.failures > 0)
            assert await status_of(adapter, GOOD) == during_outage
            if gatekeeper == "flexible":
                assert await status_of(adapter, {"client_id": "never-seen"}) == 401
            fake.down = False
            await eventually(lambda: adapter.engine.ready())
            assert await status_of(adapter, GOOD) == 200
        finally:
            await adapter.stop()

    run(fake, scenario)


def test_policy_change_applies_and_uses_etag():
    fake = platform_with_api()

    async def scenario():
        adapter = ReferenceAdapter(settings())
        await adapter.start()
        try:
            await adapter.wait_ready(3.0)
            await eventually(lambda: adapter.policies_schedule.successes >= 3)
            fake.set_policies("10001", [client_id_policy(disabled=True)])
            await eventually(
                lambda: getattr(adapter.engine.api("10001"), "policies_version", None) == "2"
            )
            assert await status_of(adapter, {}) == 200
        finally:
            await adapter.stop()

    run(fake, scenario)
    policy_calls = [r for r in fake.requests if r.url.path.endswith("/policies")]
    assert any(r.headers.get("if-none-match") == '"1"' for r in policy_calls)


def test_every_decision_becomes_one_event_and_stop_flushes():
    fake = platform_with_api()

    async def scenario():
        adapter = ReferenceAdapter(settings(analytics_interval=60.0, analytics_batch_size=4))
        await adapter.start()
        await adapter.wait_ready(3.0)
        statuses = [await status_of(adapter, GOOD if i % 3 else {}) for i in range(10)]
        await adapter.stop()
        return statuses

    statuses = run(fake, scenario)
    events = fake.events
    assert len(events) == 10 and fake.duplicates == 0
    assert [e["status_code"] for e in events] == statuses
    assert len(fake.batches) == 3  # 4 + 4 by size, the last 2 flushed on stop
    blocked = [e for e in events if e["request_disposition"] == "blocked"]
    assert len(blocked) == 4
    assert all(
        e["policy_violation"] == {"policy_id": 501, "policy_name": "client-id-enforcement"}
        for e in blocked
    )
    allowed = [e for e in events if e["request_disposition"] == "processed"]
    assert all(e["client_id"] == "app-1" and e["api_id"] == "10001" for e in allowed)
    assert all(
        e["org_id"] == ORG and e["verb"] == "GET" and e["client_ip"] == "127.0.0.1" for e in events
    )


def test_analytics_retry_reuses_batch_id_and_loses_nothing():
    fake = platform_with_api()

    async def scenario():
        adapter = ReferenceAdapter(settings(analytics_interval=0.02))
        await adapter.start()
        await adapter.wait_ready(3.0)
        fake.ingest_down = True
        for _ in range(3):
            await status_of(adapter, GOOD)
        await eventually(lambda: adapter.batcher.stats.failures >= 2)
        pending = adapter.batcher.pending
        assert pending is not None
        fake.ingest_down = False
        await eventually(lambda: adapter.batcher.held == 0)
        await adapter.stop()
        return pending.batch_id

    batch_id = run(fake, scenario)
    assert [b for b, _ in fake.batches].count(batch_id) == 1
    assert fake.batches[0][0] == batch_id
    assert len(fake.events) == 3 and fake.duplicates == 0


def test_restart_during_outage_enforces_from_disk_cache(tmp_path):
    fake = platform_with_api()

    async def scenario():
        first = ReferenceAdapter(settings(cache_dir=tmp_path))
        await first.start()
        await first.wait_ready(3.0)
        await first.stop()
        fake.down = True
        second = ReferenceAdapter(settings(cache_dir=tmp_path, stop_flush_timeout=0.2))
        await second.start()
        try:
            assert await status_of(second, GOOD) == 200
            assert await status_of(second, {"client_id": "stranger", "client_secret": "x"}) == 401
        finally:
            await second.stop()
        assert second.batcher.held == 2  # login is down too: stop gives up after the timeout
        third = ReferenceAdapter(settings(stop_flush_timeout=0.2))  # no cache: no fail-open
        await third.start()
        try:
            assert await status_of(third, GOOD) == 503
        finally:
            await third.stop()

    run(fake, scenario)


def test_jwks_fetched_by_the_live_adapter():
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    from .helpers import policy

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    fake = FakePlatform()
    fake.add_api("10001", [policy("jwt-validation", {
        "signingMethod": "rsa", "signingKeyLength": 256, "jwtKeyOrigin": "jwks",
        "jwksUrl": f"{PLATFORM}/jwks.json", "skipClientIdValidation": True,
    })])  # fmt: skip
    signed = jwt.encode({"sub": "u"}, key, algorithm="RS256", headers={"kid": "k1"})
    auth = {"authorization": f"Bearer {signed}"}

    async def scenario():
        adapter = ReferenceAdapter(settings())
        await adapter.start()
        try:
            await adapter.wait_ready(3.0)
            assert await status_of(adapter, auth) == 503
            await eventually(
                lambda: adapter.engine.jwks.sources[f"{PLATFORM}/jwks.json"].schedule.failures > 0
            )
            fake.jwks = {"keys": [{**jwk, "kid": "k1"}]}
            await eventually(
                lambda: adapter.engine.jwks.sources[f"{PLATFORM}/jwks.json"].keys is not None
            )
            assert await status_of(adapter, auth) == 200
            assert await status_of(adapter, {}) == 400
        finally:
            await adapter.stop()

    run(fake, scenario)


def test_http_service_mode_face():
    import aiohttp

    fake = platform_with_api()

    async def scenario():
        adapter = ReferenceAdapter(settings(http_port=0, grpc_port=None))
        await adapter.start()
        try:
            assert adapter.grpc_port is None and adapter.http_port
            await adapter.wait_ready(3.0)
            url = f"http://127.0.0.1:{adapter.http_port}/orders"
            async with aiohttp.ClientSession() as session:
                async with session.get(url, headers={"x-asm-api-id": "10001", **GOOD}) as ok:
                    assert ok.status == 200
                async with session.get(url, headers={"x-asm-api-id": "10001"}) as denied:
                    assert denied.status == 401
                    assert denied.headers["www-authenticate"] == "Client-ID-Enforcement"
                    assert await denied.json() == {"error": "missing client credentials"}
                async with session.get(url) as unknown:
                    assert unknown.status == 403
        finally:
            await adapter.stop()

    run(fake, scenario)
    assert len(fake.events) == 3


def test_bind_failure_is_an_oserror_and_releases_the_other_face():
    import socket

    fake = platform_with_api()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        async def scenario() -> None:
            adapter = ReferenceAdapter(settings(grpc_port=0, http_port=port))
            with pytest.raises(OSError):
                await adapter.start()
            assert adapter._grpc_server is None

        run(fake, scenario)


def test_spike_control_holds_the_answer():
    import time

    from .helpers import policy

    fake = FakePlatform()
    fake.add_api("10001", [policy("spike-control", {
        "maximumRequests": 1, "timePeriodInMilliseconds": 100, "delayTimeInMillis": 60,
        "delayAttempts": 2, "queuingLimit": 2,
    })])  # fmt: skip

    async def scenario() -> tuple[float, int, int]:
        adapter = ReferenceAdapter(settings())
        await adapter.start()
        try:
            await adapter.wait_ready(3.0)
            assert await status_of(adapter) == 200
            started = time.monotonic()
            second = await status_of(adapter)
            return time.monotonic() - started, second, len(adapter.engine.api_ids())
        finally:
            await adapter.stop()

    waited, second, _ = run(fake, scenario)
    assert second == 200 and 0.05 <= waited < 1.0
