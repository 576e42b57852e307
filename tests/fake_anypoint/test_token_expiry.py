"""``expire_tokens``: every access token issued so far expires at once, so every endpoint that
needs a bearer token answers a call bearing one 401 ``{message}`` (the sync API, the public API
Manager v1 and API Platform endpoints, the analytics ingest), until the client logs in again."""

from __future__ import annotations

import asyncio
import copy
import gzip
import json

import aiohttp
import pytest

from fake_anypoint import ControlPlaneServer, ExpireTokens
from fake_anypoint.httpkit import ROUTES_KEY
from fake_anypoint.records import AuthError

from .conftest import SEED, login, new_state, route_ids, running


def test_the_change_expires_issued_tokens_and_not_later_ones() -> None:
    state, clock = new_state()
    refs = state.seed(copy.deepcopy(SEED))
    app = state.connected_app
    first = state.issue_token(app.client_id, app.client_secret)
    second = state.issue_token(app.client_id, app.client_secret)
    clock.advance(10)
    summary = ExpireTokens().apply(state, refs)
    assert "2 still valid" in summary
    for token in (first, second):
        with pytest.raises(AuthError, match="expired: log in again"):
            state.records.check_token(f"Bearer {token.value}")
    fresh = state.issue_token(app.client_id, app.client_secret)
    assert state.records.check_token(f"Bearer {fresh.value}") is fresh
    clock.advance(10)
    assert "1 still valid" in ExpireTokens().apply(state, refs)  # the fresh one only
    with pytest.raises(AuthError, match="expired"):
        state.records.check_token(f"Bearer {fresh.value}")
    assert "0 still valid" in ExpireTokens().apply(state, refs)


def _authenticated_routes(
    server: ControlPlaneServer, ids: dict[str, object]
) -> list[tuple[str, str, str]]:
    """(origin, method, path) of every route that needs a bearer token, on both origins."""
    out = []
    for origin, app in (("platform", server.platform_app()), ("ingest", server.ingest_app())):
        for route, info in app[ROUTES_KEY].items():
            if not info.auth or route.method in ("HEAD", "OPTIONS"):
                continue
            resource = route.resource.get_info() if route.resource else {}
            path = resource.get("path") or resource.get("formatter")
            assert isinstance(path, str), route
            out.append((origin, route.method, path.format(**ids)))
    return out


def test_every_authenticated_endpoint_answers_401_until_the_client_logs_in_again() -> None:
    state, _ = new_state()
    refs = state.seed(copy.deepcopy(SEED))
    ids = route_ids(state, refs)

    async def main() -> None:
        async with running(state) as server, aiohttp.ClientSession() as s:
            base = {"platform": server.base_url, "ingest": server.ingest_url}
            old = await login(s, server.base_url, state)
            ExpireTokens().apply(state, refs)
            routes = _authenticated_routes(server, ids)
            paths = {path for _, _, path in routes}
            scope = f"/organizations/{state.org_id}/environments/{state.env_id}"
            # what the reference adapter and the Node.js example adapter read and post
            assert f"/apigateway/ccs/v3{scope}/apis" in paths
            assert f"/apimanager/api/v1{scope}/apis/{ids['api_id']}/contracts" in paths
            assert f"/apiplatform/repository/v2/organizations/{state.org_id}/applications" in paths
            assert "/v2/analytics/events" in paths
            for origin, method, path in routes:
                headers = {"Authorization": f"Bearer {old}", "X-Batch-Id": "b-1"}
                async with s.request(method, base[origin] + path, headers=headers) as r:
                    body = await r.json()
                    assert r.status == 401, (method, path, r.status)
                    assert body["message"] == "access token expired: log in again", path
            graph = {
                "query": "{ assets(query: {}) { assetId } }",
                "variables": {"accessToken": old},
            }
            async with s.post(server.base_url + "/graph/api/v2/graphql", json=graph) as r:
                assert r.status == 401
            new = await login(s, server.base_url, state)
            headers = {"Authorization": f"Bearer {new}"}
            async with s.get(
                f"{server.base_url}/apigateway/ccs/v3{scope}/apis", headers=headers
            ) as r:
                assert r.status == 200
            events = gzip.compress(json.dumps([{"event_id": "e-1"}]).encode())
            post = {**headers, "X-Batch-Id": "b-2", "Content-Encoding": "gzip"}
            async with s.post(
                server.ingest_url + "/v2/analytics/events", data=events, headers=post
            ) as r:
                assert r.status == 202
        journal = [(e.method, e.status) for e in state.journal()]
        refused = len(routes)
        assert journal[0] == ("POST", 200)  # the first login
        assert journal[1 : 1 + refused] == [(m, 401) for _, m, _ in routes]
        assert journal[-3:] == [("POST", 200), ("GET", 200), ("POST", 202)]  # login, calls

    asyncio.run(main())
