"""The HTTP service-mode face: what Envoy's http_service sends and how it reads the answer."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from reference_adapter.http_face import REMOVE_HEADER, http_response, start_http_server
from reference_adapter.model import Decision, Denial


def test_http_response_allowed_carries_mutations():
    d = Decision("1")
    d.set_upstream("x-client-id", "app-1")
    d.append_upstream("x-tags", "a")
    d.remove_upstream("authorization")
    d.remove_upstream("x-secret")
    d.add_response_header("x-ratelimit-remaining", "3")
    r = http_response(d)
    assert r.status == 200
    assert r.headers["x-client-id"] == "app-1" and r.headers["x-tags"] == "a"
    assert r.headers[REMOVE_HEADER] == "authorization, x-secret"
    assert r.headers["x-ratelimit-remaining"] == "3"


def test_http_response_denied():
    d = Decision("1").deny(
        Denial.of(401, "nope", ("www-authenticate", "Client-ID-Enforcement")), None
    )
    r = http_response(d)
    assert r.status == 401 and r.headers["www-authenticate"] == "Client-ID-Enforcement"
    assert r.headers["content-type"] == "application/json"
    assert isinstance(r.body, bytes) and json.loads(r.body) == {"error": "nope"}


def test_server_reads_api_id_prefix_headers_and_body():
    seen = []

    async def handler(ci):
        seen.append(ci)
        d = Decision(ci.api_id)
        if ci.headers.get("authorization") != "Bearer ok":
            d.deny(Denial.of(403, "forbidden"), None)
        return d

    async def go() -> Any:
        runner, port = await start_http_server(handler, 0, path_prefix="/authz")
        try:
            async with aiohttp.ClientSession() as session:
                url = f"http://127.0.0.1:{port}/authz/orders/1?x=1"
                headers = {
                    "x-asm-api-id": "10001",
                    "authorization": "Bearer ok",
                    "x-forwarded-for": "203.0.113.9, 10.0.0.1",
                    "host": "orders.svc",
                }
                async with session.post(url, headers=headers, data=b"{}") as ok:
                    ok_status = ok.status
                async with session.get(url, headers={"x-asm-api-id": "10001"}) as denied:
                    denied_status, denied_body = denied.status, await denied.json()
        finally:
            await runner.cleanup()
        return ok_status, denied_status, denied_body

    ok_status, denied_status, denied_body = asyncio.run(go())
    assert (ok_status, denied_status, denied_body) == (200, 403, {"error": "forbidden"})
    first = seen[0]
    assert (first.api_id, first.method, first.path) == ("10001", "POST", "/orders/1?x=1")
    assert first.source_ip == "203.0.113.9" and first.body == b"{}" and first.size == 2
    assert first.host == "orders.svc"
    assert seen[1].body is None
