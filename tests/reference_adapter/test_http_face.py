"""The HTTP service-mode face: what Envoy's http_service sends and how it reads the answer."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp
import pytest

from reference_adapter.http_face import REMOVE_HEADER, http_response, start_http_server
from reference_adapter.model import CheckInput, Decision, Denial

from .helpers import API, client_id_policy, engine_with, policy
from .test_jwt_validation import jwt_policy


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
                    "x-envoy-external-address": "10.0.0.1",
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
    # the client address is Envoy's x-envoy-external-address (use_remote_address), never the
    # client-written x-forwarded-for; without it, the peer (Envoy)
    assert first.source_ip == "10.0.0.1" and first.body == b"{}" and first.size == 2
    assert seen[1].source_ip == "127.0.0.1"
    assert first.host == "orders.svc"
    assert seen[1].body is None


async def _raw_status(port: int, header: bytes) -> tuple[int, bytes]:
    """Send one HTTP/1.1 request with a raw header line; the status and the body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"GET /orders HTTP/1.1\r\nhost: orders.svc\r\nx-asm-api-id: " + API.encode() + b"\r\n"
        + header + b"\r\nconnection: close\r\n\r\n"
    )  # fmt: skip
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


@pytest.mark.parametrize(
    ("policies", "header"),
    [
        ([jwt_policy()], b"authorization: Bearer \xff\xfe"),
        ([jwt_policy()], b"authorization: Bearer eyJ\xff.e30.sig"),
        ([jwt_policy(jwtOrigin="customExpression", jwtExpression="#[attributes.headers['jwt']]")],
         b"jwt: \xff"),
        ([client_id_policy()], b"client_id: \xff\r\nclient_secret: \xfe"),
        ([client_id_policy(credentialsOriginHasHttpBasicAuthenticationHeader=
                           "httpBasicAuthenticationHeader")], b"authorization: Basic \xff\xff"),
        ([policy("http-basic-authentication", {"username": "a", "password": "b"})],
         b"authorization: Basic \xff=="),
    ],
)  # fmt: skip
def test_bytes_that_are_not_utf8_in_a_credential_header_get_401(policies, header):
    """A 0xFF byte in a credential header is a bad credential (401), not a 500."""
    engine = engine_with(policies)

    async def handler(ci: CheckInput) -> Decision:
        return engine.decide(ci, 0.0)

    async def go() -> tuple[int, bytes]:
        runner, port = await start_http_server(handler, 0)
        try:
            return await _raw_status(port, header)
        finally:
            await runner.cleanup()

    status, body = asyncio.run(go())
    assert status == 401, body
    assert "error" in json.loads(body)


def test_a_failing_handler_is_a_json_500_not_an_html_page():
    async def handler(ci: CheckInput) -> Decision:
        raise RuntimeError("boom")

    async def go() -> tuple[int, bytes]:
        runner, port = await start_http_server(handler, 0)
        try:
            return await _raw_status(port, b"x-any: 1")
        finally:
            await runner.cleanup()

    status, body = asyncio.run(go())
    assert status == 500 and json.loads(body) == {"error": "internal error in the adapter"}


def test_a_malformed_request_is_a_400_and_one_log_line_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(ci: CheckInput) -> Decision:
        return Decision(ci.api_id)

    async def go() -> tuple[int, bytes]:
        runner, port = await start_http_server(handler, 0)
        try:
            return await _raw_status(port, b"\xf1\x01bad name: x")
        finally:
            await runner.cleanup()

    with caplog.at_level(logging.DEBUG):
        status, _ = asyncio.run(go())
    assert status == 400
    records = [r for r in caplog.records if r.name == "reference_adapter.http.server"]
    assert records and all(r.exc_info is None and r.levelno == logging.WARNING for r in records)
    assert "bad HTTP request answered 400" in records[0].getMessage()
