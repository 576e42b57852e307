"""The adapter sync API over HTTP: tokens, APIs, policies (ETag), contracts feed, keep-alive,
analytics ingest, and the journal."""

from __future__ import annotations

import asyncio
import copy
import gzip
import json
import uuid

import aiohttp

from .conftest import SEED, client, new_state, running


def ccs(state, tail: str = "") -> str:
    return f"/apigateway/ccs/v3/organizations/{state.org_id}/environments/{state.env_id}{tail}"


def test_token_endpoints_accept_json_and_form_and_flex_path():
    state, _ = new_state()
    app = state.connected_app

    async def main() -> None:
        async with running(state) as server, aiohttp.ClientSession() as s:
            base = server.base_url
            creds = {
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "grant_type": "client_credentials",
            }
            async with s.post(f"{base}/accounts/api/v2/oauth2/token", json=creds) as r:
                body = await r.json()
                assert r.status == 200
                assert body["token_type"] == "bearer" and body["expires_in"] == 3600
            async with s.post(f"{base}/accounts/api/v2/oauth2/token", data=creds) as r:
                assert r.status == 200 and (await r.json())["access_token"]
            async with s.post(f"{base}/accounts/oauth2/token", json=creds) as r:
                assert r.status == 200
            bad = dict(creds, client_secret="nope")
            async with s.post(f"{base}/accounts/api/v2/oauth2/token", json=bad) as r:
                assert r.status == 401
                assert "invalid client credentials" in (await r.json())["message"]
            async with s.post(
                f"{base}/accounts/api/v2/oauth2/token",
                data=b"{not json",
                headers={"Content-Type": "application/json"},
            ) as r:
                assert r.status == 400 and "body" in (await r.json())["message"]

    asyncio.run(main())


def test_bearer_missing_unknown_and_expired_get_401_json():
    state, clock = new_state()

    async def main() -> None:
        async with client(state) as (server, s):
            url = server.base_url + ccs(state, "/apis")
            async with s.get(url) as r:
                assert r.status == 200
            async with aiohttp.ClientSession() as anon:
                async with anon.get(url) as r:
                    assert r.status == 401
                    assert "missing Authorization" in (await r.json())["message"]
                async with anon.get(url, headers={"Authorization": "Bearer nope"}) as r:
                    assert r.status == 401 and "unknown" in (await r.json())["message"]
            clock.advance(3600)
            async with s.get(url) as r:
                assert r.status == 401 and "expired" in (await r.json())["message"]

    asyncio.run(main())


def test_apis_and_policies_with_etag():
    state, _ = new_state()
    r = state.seed(copy.deepcopy(SEED))
    orders = r.apis["orders"]

    async def main() -> None:
        async with client(state) as (server, s):
            base = server.base_url
            async with s.get(base + ccs(state, "/apis")) as resp:
                data = (await resp.json())["data"]
            assert [a["apiId"] for a in data] == [orders, r.apis["billing"]]
            assert data[0]["services"] == ["orders.default.svc.cluster.local"]
            assert data[0]["assetId"] == "orders" and data[0]["productVersion"] == "v1"
            url = base + ccs(state, f"/apis/{orders}/policies")
            async with s.get(url) as resp:
                body = await resp.json()
                etag = resp.headers["ETag"]
            assert etag == f'"{body["version"]}"' and body["apiId"] == orders
            assert body["version"] == data[0]["policiesVersion"]
            first = body["policies"][0]
            assert first["template"] == {
                "groupId": "68ef9520-24e9-4cf2-b2f5-620025690913",
                "assetId": "client-id-enforcement",
                "assetVersion": "1.3.3",
            }
            assert first["pointcutData"] is None and first["order"] == 1
            assert body["policies"][1]["pointcutData"] == [
                {"methodRegex": "GET", "uriTemplateRegex": "/orders.*"}
            ]
            async with s.get(url, headers={"If-None-Match": etag}) as resp:
                assert resp.status == 304 and resp.headers["ETag"] == etag
            state.set_policy_disabled(orders, r.policies["orders/cid"], True)
            async with s.get(url, headers={"If-None-Match": etag}) as resp:
                assert resp.status == 200
                assert (await resp.json())["policies"][0]["disabled"] is True
                assert resp.headers["ETag"] != etag
            async with s.get(base + ccs(state, "/apis/424242/policies")) as resp:
                assert resp.status == 404 and "424242" in (await resp.json())["message"]
            async with s.get(base + ccs(state, "/apis/abc/policies")) as resp:
                assert resp.status == 400 and "'abc'" in (await resp.json())["message"]
            wrong_env = f"/apigateway/ccs/v3/organizations/{state.org_id}/environments/nope/apis"
            async with s.get(base + wrong_env) as resp:
                assert resp.status == 404

    asyncio.run(main())


def test_contracts_feed_over_http_follows_links_next():
    state, _ = new_state()
    r = state.seed(copy.deepcopy(SEED))
    orders = r.apis["orders"]
    for i in range(4):
        state.create_contract(orders, state.create_application(f"bulk-{i}").id)

    async def main() -> None:
        async with client(state) as (server, s):
            base = server.base_url
            path = ccs(state, f"/apis/{orders}/contracts?limit=2")
            seen = []
            cursor = None
            for _ in range(10):
                async with s.get(base + path) as resp:
                    body = await resp.json()
                seen += body["data"]
                cursor = body["cursor"]
                if "next" not in body["links"]:
                    break
                path = body["links"]["next"]
            assert len(seen) == 5 and not any(c["removed"] for c in seen)
            mobile = next(c for c in seen if c["clientId"] == "mobile-id")
            assert mobile["clientSecret"] == "mobile-secret"
            assert mobile["slaTier"]["name"] == "gold"
            assert mobile["slaTier"]["limits"][0]["maximumRequests"] == 100
            assert mobile["status"] == "APPROVED" and mobile["apiId"] == orders
            assert mobile["updatedDate"].endswith("Z") and mobile["organizationId"] == state.org_id
            state.set_contract_status(orders, r.contracts["mobile/orders"], "REVOKED")
            inc = base + ccs(state, f"/apis/{orders}/contracts?updatedSince={cursor}")
            async with s.get(inc) as resp:
                body = await resp.json()
            assert [(c["contractId"], c["removed"]) for c in body["data"]] == [
                (r.contracts["mobile/orders"], True)
            ]
            async with s.get(base + ccs(state, f"/apis/{orders}/contracts?updatedSince=x")) as resp:
                assert resp.status == 400 and "updatedSince" in (await resp.json())["message"]
            async with s.get(base + ccs(state, f"/apis/{orders}/contracts?limit=0")) as resp:
                assert resp.status == 400 and "limit" in (await resp.json())["message"]

    asyncio.run(main())


def test_keepalive_marks_apis_active():
    state, clock = new_state()
    r = state.seed(copy.deepcopy(SEED))
    orders = r.apis["orders"]

    async def main() -> None:
        async with client(state) as (server, s):
            url = server.base_url + ccs(state, "/keepalive")
            body = {"adapterId": "a-1", "apiIds": [orders, 999], "version": "1.0"}
            async with s.post(url, json=body) as resp:
                assert resp.status == 204
            async with s.post(url, json={"apiIds": "x"}) as resp:
                assert resp.status == 400 and "adapterId" in (await resp.json())["message"]

    asyncio.run(main())
    assert state.api_status(state.api(orders)) == "active"
    assert state.keepalives()[0]["api_ids"] == [orders, 999]
    clock.advance(60)
    assert state.api_status(state.api(orders)) == "inactive"


def test_analytics_ingest_gzip_dedup_and_errors():
    state, clock = new_state()
    events = [{"event_id": str(i), "api_id": "10001", "status_code": 200} for i in range(3)]
    payload = gzip.compress(json.dumps(events).encode())
    batch = str(uuid.uuid4())

    async def main() -> None:
        async with client(state) as (server, s):
            url = server.ingest_url + "/v2/analytics/events"
            headers = {
                "Content-Encoding": "gzip",
                "Content-Type": "application/json",
                "X-Batch-Id": batch,
            }
            async with s.post(url, data=payload, headers=headers) as resp:
                assert resp.status == 202
                assert await resp.json() == {"accepted": 3, "duplicate": False}
            clock.advance(1)
            async with s.post(url, data=payload, headers=headers) as resp:
                assert await resp.json() == {"accepted": 3, "duplicate": True}
            no_id = {k: v for k, v in headers.items() if k != "X-Batch-Id"}
            async with s.post(url, data=payload, headers=no_id) as resp:
                assert resp.status == 400 and "X-Batch-Id" in (await resp.json())["message"]
            async with s.post(
                url, data=b"plain", headers=dict(headers, **{"X-Batch-Id": "b"})
            ) as resp:
                assert resp.status == 400 and "gzip" in (await resp.json())["message"]
            bad = gzip.compress(b'{"a": 1}')
            async with s.post(url, data=bad, headers=dict(headers, **{"X-Batch-Id": "c"})) as resp:
                assert resp.status == 400 and "array" in (await resp.json())["message"]
            async with (
                aiohttp.ClientSession() as anon,
                anon.post(url, data=payload, headers=headers) as resp,
            ):
                assert resp.status == 401
            # the platform origin does not serve ingest
            async with s.post(
                server.base_url + "/v2/analytics/events", data=payload, headers=headers
            ) as resp:
                assert resp.status == 404

    asyncio.run(main())
    batches = state.analytics_batches()
    assert len(batches) == 1
    assert batches[0].batch_id == batch and batches[0].duplicates == 1
    assert batches[0].size_bytes == len(payload) and batches[0].received_at == 0.0
    assert state.analytics_events() == events


def test_journal_records_every_request():
    state, _ = new_state()
    state.seed(copy.deepcopy(SEED))

    async def main() -> None:
        async with client(state) as (server, s):
            async with s.get(server.base_url + ccs(state, "/apis")) as resp:
                assert resp.status == 200
            async with s.get(server.base_url + "/nowhere") as resp:
                assert resp.status == 404
                assert "no such endpoint" in (await resp.json())["message"]

    asyncio.run(main())
    entries = state.journal()
    assert [(e.method, e.status, e.data) for e in entries] == [
        ("POST", 200, ("token",)),
        ("GET", 200, ("apis",)),
        ("GET", 404, ()),
    ]
    assert entries[1].path == ccs(state, "/apis") and entries[1].fault is None
    assert state.journal("apis") == [entries[1]]


def test_in_process_sync_bodies_equal_the_http_bodies():
    state, _ = new_state()
    r = state.seed(copy.deepcopy(SEED))
    orders = r.apis["orders"]

    async def main() -> None:
        async with client(state) as (server, s):
            base = server.base_url
            async with s.get(base + ccs(state, "/apis")) as resp:
                assert await resp.json() == state.sync_apis()
            async with s.get(base + ccs(state, f"/apis/{orders}/policies")) as resp:
                assert await resp.json() == state.sync_policies(orders)
            path = ccs(state, f"/apis/{orders}/contracts")
            async with s.get(base + path) as resp:
                assert await resp.json() == state.sync_contracts(orders)
            async with s.get(base + path + "?updatedSince=0&limit=1") as resp:
                body = await resp.json()
            direct = state.sync_contracts(orders, 0, 1)
            assert body["links"]["next"] == direct["links"]["next"]
            assert body["data"] == direct["data"] and body["cursor"] == direct["cursor"]

    asyncio.run(main())
