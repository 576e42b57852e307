"""The gRPC face: CheckRequest → CheckInput, Decision → CheckResponse as Envoy reads it, and
a real grpc.aio server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from google.rpc import code_pb2

from reference_adapter.grpc_face import check_input, check_response, start_grpc_server
from reference_adapter.model import Decision, Denial, PolicyRef

from .grpc_helpers import call_check, check_request, header_dict


def test_check_input_from_envoy_request():
    ci = check_input(
        check_request({"client_id": "app-1"}, method="POST", path="/o?x=1", body="hey")
    )
    assert ci.api_id == "10001" and ci.service == "orders"
    assert (ci.method, ci.path, ci.source_ip) == ("POST", "/o?x=1", "127.0.0.1")
    assert ci.headers["client_id"] == "app-1" and ci.headers[":authority"].startswith("orders.")
    assert ci.body == b"hey" and ci.size == 3
    assert ci.request_id == "cf5cfa7b-613c-474a-83cb-a00104bae7ec"
    assert check_input(check_request(api_id=None)).api_id == ""
    assert check_input(check_request()).body is None


def test_raw_body_and_header_map():
    request = check_request()
    request.attributes.request.http.raw_body = b"\x00\x01"
    request.attributes.request.http.ClearField("headers")
    for key, value in (("X-Dup", b"a"), ("x-dup", b"b")):
        entry = request.attributes.request.http.header_map.headers.add()
        entry.key = key
        entry.raw_value = value
    ci = check_input(request)
    assert ci.body == b"\x00\x01" and ci.headers == {"x-dup": "a,b"}


def test_denied_response_is_explicit():
    d = Decision("1").deny(
        Denial.of(401, "invalid client credentials", ("www-authenticate", "Client-ID-Enforcement")),
        PolicyRef(5, "client-id-enforcement"),
    )
    r = check_response(d)
    assert r.status.code == code_pb2.UNAUTHENTICATED
    assert r.WhichOneof("http_response") == "denied_response"
    assert r.denied_response.status.code == 401
    assert header_dict(r.denied_response.headers) == {
        "www-authenticate": "Client-ID-Enforcement",
        "content-type": "application/json",
    }
    assert json.loads(r.denied_response.body) == {"error": "invalid client credentials"}
    for status, code in (
        (429, code_pb2.RESOURCE_EXHAUSTED),
        (503, code_pb2.UNAVAILABLE),
        (403, code_pb2.PERMISSION_DENIED),
        (418, code_pb2.PERMISSION_DENIED),
    ):
        assert check_response(Decision("1").deny(Denial.of(status, "x"), None)).status.code == code


def test_ok_response_mutations():
    d = Decision("1")
    d.set_upstream("x-client-id", "app-1")
    d.append_upstream("x-tags", "a")
    d.remove_upstream("authorization")
    d.add_response_header("x-ratelimit-remaining", "4")
    r = check_response(d)
    assert r.status.code == code_pb2.OK and r.WhichOneof("http_response") == "ok_response"
    ok = r.ok_response
    by_key = {o.header.key: o for o in ok.headers}
    assert not by_key["x-client-id"].HasField("append")
    assert by_key["x-tags"].append.value is True
    assert list(ok.headers_to_remove) == ["authorization"]
    (resp,) = ok.response_headers_to_add
    assert (resp.header.key, resp.header.value) == ("x-ratelimit-remaining", "4")
    assert resp.append_action == resp.OVERWRITE_IF_EXISTS_OR_ADD


def test_server_round_trip():
    seen = []

    async def handler(ci):
        seen.append(ci)
        d = Decision(ci.api_id)
        if ci.headers.get("client_id") != "ok":
            d.deny(Denial.of(401, "no"), None)
        return d

    async def go() -> Any:
        server, port = await start_grpc_server(handler, 0)
        try:
            assert port > 0
            allowed = await call_check(port, check_request({"client_id": "ok"}))
            denied = await call_check(port, check_request())
        finally:
            await server.stop(None)
        return allowed, denied

    allowed, denied = asyncio.run(go())
    assert allowed.status.code == 0 and allowed.HasField("ok_response")
    assert denied.denied_response.status.code == 401
    assert seen[0].source_ip == "127.0.0.1"


def test_busy_port_is_a_clear_oserror():
    import socket

    import pytest

    async def handler(ci):
        return Decision(ci.api_id)

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(OSError, match="cannot bind the gRPC ext_authz server"):
            asyncio.run(start_grpc_server(handler, port))


def test_handler_failure_is_a_logged_500(caplog):
    async def handler(ci):
        raise KeyError("boom")

    async def go() -> Any:
        server, port = await start_grpc_server(handler, 0)
        try:
            return await call_check(port, check_request())
        finally:
            await server.stop(None)

    response = asyncio.run(go())
    assert response.denied_response.status.code == 500
    assert response.status.code == code_pb2.INTERNAL
    assert "ext_authz Check failed" in caplog.text
