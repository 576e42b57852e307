"""ControlPlaneClient against respx mocks of the sync API (docs/adapter-contract.md §2)."""

from __future__ import annotations

import asyncio
import gzip
import json
from typing import Any

import httpx
import pytest
import respx

from reference_adapter.control_plane import ControlPlaneClient, ControlPlaneError

P = "http://cp.test"
INGEST = "http://ingest.test"
BASE = f"{P}/apigateway/ccs/v3/organizations/org-1/environments/env-1"


def client() -> ControlPlaneClient:
    return ControlPlaneClient(P, INGEST, "cid", "csecret", "org-1", "env-1")


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def token_route(mock, *tokens: str):
    return mock.post(f"{P}/accounts/api/v2/oauth2/token").mock(
        side_effect=[
            httpx.Response(
                200, json={"access_token": t, "token_type": "bearer", "expires_in": 3600}
            )
            for t in tokens
        ]
    )


@respx.mock
def test_login_then_bearer_and_relogin_after_401():
    login = token_route(respx, "t1", "t2")
    apis = respx.get(f"{BASE}/apis").mock(
        side_effect=[
            httpx.Response(200, json={"data": [{"apiId": 10001}]}),
            httpx.Response(401, json={"message": "expired"}),
            httpx.Response(200, json={"data": [{"apiId": 10001}, {"apiId": 10002}]}),
        ]
    )

    async def go() -> Any:
        c = client()
        assert await c.list_apis() == [{"apiId": 10001}]
        assert len(await c.list_apis()) == 2
        await c.aclose()
        return c

    c = run(go())
    body = json.loads(login.calls[0].request.content)
    assert body == {
        "client_id": "cid",
        "client_secret": "csecret",
        "grant_type": "client_credentials",
    }
    assert [call.request.headers["authorization"] for call in apis.calls] == [
        "Bearer t1",
        "Bearer t1",
        "Bearer t2",
    ]
    assert c.logins == 2


@respx.mock
def test_bad_login_is_a_clear_error():
    respx.post(f"{P}/accounts/api/v2/oauth2/token").mock(
        return_value=httpx.Response(401, json={"message": "bad client"})
    )
    with pytest.raises(ControlPlaneError, match=r"login failed.*client_id/client_secret"):
        run(client().list_apis())


@respx.mock
def test_policies_etag_and_304():
    token_route(respx, "t")
    route = respx.get(f"{BASE}/apis/10001/policies").mock(
        side_effect=[
            httpx.Response(
                200,
                json={"apiId": 10001, "version": "3", "policies": [{"policyId": 1}]},
                headers={"ETag": '"3"'},
            ),
            httpx.Response(304),
        ]
    )

    async def go() -> Any:
        c = client()
        first = await c.get_policies("10001", None)
        second = await c.get_policies("10001", first.version)
        return first, second

    first, second = run(go())
    assert first.modified and first.version == "3" and first.policies == [{"policyId": 1}]
    assert not second.modified and second.version == "3"
    assert "if-none-match" not in route.calls[0].request.headers
    assert route.calls[1].request.headers["if-none-match"] == '"3"'


@respx.mock
def test_contracts_feed_follows_links_next_and_keeps_last_cursor():
    token_route(respx, "t")
    path = "/apigateway/ccs/v3/organizations/org-1/environments/env-1/apis/10001/contracts"
    route = respx.get(f"{P}{path}").mock(
        side_effect=[
            httpx.Response(
                200,
                json={
                    "links": {"next": f"{path}?updatedSince=5&limit=1"},
                    "cursor": "5",
                    "data": [{"contractId": 1}],
                },
            ),
            httpx.Response(
                200, json={"links": {"self": "x"}, "cursor": "9", "data": [{"contractId": 2}]}
            ),
            httpx.Response(200, json={"links": {}, "data": []}),
        ]
    )

    async def go() -> Any:
        c = client()
        full = await c.get_contracts("10001", None)
        incremental = await c.get_contracts("10001", full.cursor)
        return full, incremental

    full, incremental = run(go())
    assert full.full and full.pages == 2 and full.cursor == "9"
    assert [i["contractId"] for i in full.items] == [1, 2]
    assert not incremental.full and incremental.cursor == "9" and incremental.items == []
    urls = [str(call.request.url) for call in route.calls]
    assert urls[0].endswith("/contracts")
    assert urls[1].endswith("/contracts?updatedSince=5&limit=1")
    assert urls[2].endswith("/contracts?updatedSince=9")


@respx.mock
def test_keepalive_body():
    token_route(respx, "t")
    route = respx.post(f"{BASE}/keepalive").mock(return_value=httpx.Response(204))
    run(client().keepalive("ref", ["10001", "10002"], "0.1.0"))
    assert json.loads(route.calls[0].request.content) == {
        "adapterId": "ref",
        "apiIds": [10001, 10002],
        "version": "0.1.0",
    }


@respx.mock
def test_analytics_batch_is_gzip_json_with_batch_id():
    token_route(respx, "t")
    route = respx.post(f"{INGEST}/v2/analytics/events").mock(
        side_effect=[
            httpx.Response(202, json={"accepted": 2}),
            httpx.Response(503),
            httpx.Response(400),
        ]
    )
    events = [{"event_id": "a"}, {"event_id": "b"}]

    async def go() -> Any:
        c = client()
        assert await c.post_analytics("batch-1", events) == 202
        with pytest.raises(ControlPlaneError) as retry:
            await c.post_analytics("batch-2", events)
        with pytest.raises(ControlPlaneError) as reject:
            await c.post_analytics("batch-3", events)
        return retry.value, reject.value

    retry, reject = run(go())
    request = route.calls[0].request
    assert request.headers["x-batch-id"] == "batch-1"
    assert request.headers["content-encoding"] == "gzip"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["authorization"] == "Bearer t"
    assert json.loads(gzip.decompress(request.content)) == events
    assert retry.retryable and retry.status == 503
    assert not reject.retryable and reject.status == 400


@respx.mock
def test_network_errors_become_control_plane_errors():
    token_route(respx, "t")
    respx.get(f"{BASE}/apis").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(ControlPlaneError, match="ConnectError") as info:
        run(client().list_apis())
    assert info.value.status is None and info.value.retryable
