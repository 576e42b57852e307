"""The platform's own request limits: X-RateLimit-* headers and 503 on the public APIs, the
Analytics Event API's 10 requests per minute (429), and neither on the adapter sync API."""

from __future__ import annotations

import asyncio

from .conftest import client, new_state


def test_platform_rate_limit_headers_and_503_then_a_new_window():
    state, clock = new_state()

    async def main() -> None:
        async with client(state, platform_rate_limit=3) as (server, s):
            url = f"{server.base_url}/accounts/api/organizations/{state.org_id}/environments"
            remaining = []
            for _ in range(3):
                async with s.get(url) as resp:
                    assert resp.status == 200
                    assert resp.headers["X-RateLimit-Limit"] == "3"
                    remaining.append(int(resp.headers["X-RateLimit-Remaining"]))
                    reset = int(resp.headers["X-RateLimit-Reset"])
            assert remaining == [2, 1, 0]
            assert clock.wall() < reset <= clock.wall() + 61  # epoch seconds, as the platform
            async with s.get(url) as resp:
                assert resp.status == 503
                assert resp.headers["X-RateLimit-Remaining"] == "0"
                assert int(resp.headers["Retry-After"]) <= 60
                assert "more than 3 requests per minute" in (await resp.json())["message"]
            ccs = (
                f"{server.base_url}/apigateway/ccs/v3/organizations/{state.org_id}"
                f"/environments/{state.env_id}/apis"
            )
            for _ in range(5):  # the adapter sync API is not the platform's public API
                async with s.get(ccs) as resp:
                    assert resp.status == 200 and "X-RateLimit-Limit" not in resp.headers
            clock.advance(60)
            async with s.get(url) as resp:
                assert resp.status == 200 and resp.headers["X-RateLimit-Remaining"] == "2"

    asyncio.run(main())


def test_analytics_event_api_allows_10_requests_a_minute():
    state, clock = new_state()

    async def main() -> None:
        async with client(state) as (server, s):
            url = (
                f"{server.base_url}/analytics/1.0/{state.org_id}/environments/"
                f"{state.env_id}/events?format=json"
            )
            for _ in range(10):
                async with s.get(url) as resp:
                    assert resp.status == 200
            async with s.get(url) as resp:
                assert resp.status == 429 and int(resp.headers["Retry-After"]) <= 60
                assert "10 requests per minute" in (await resp.json())["message"]
            clock.advance(60)
            async with s.get(url) as resp:
                assert resp.status == 200

    asyncio.run(main())
