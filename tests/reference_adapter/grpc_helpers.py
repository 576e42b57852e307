"""Building CheckRequests the way Envoy 1.40 does, and calling a gRPC ext_authz server."""

from __future__ import annotations

from typing import Any

import grpc
from envoy.service.auth.v3 import external_auth_pb2, external_auth_pb2_grpc


def check_request(
    headers: dict[str, str] | None = None,
    *,
    api_id: str | None = "10001",
    method: str = "GET",
    path: str = "/orders",
    source: str = "127.0.0.1",
    body: str = "",
) -> external_auth_pb2.CheckRequest:
    request = external_auth_pb2.CheckRequest()
    http = request.attributes.request.http
    http.method = method
    http.path = path
    http.host = "orders.default.svc.cluster.local"
    http.scheme = "http"
    http.protocol = "HTTP/1.1"
    http.id = "4734566054762854262"
    all_headers = {
        ":authority": http.host,
        ":method": method,
        ":path": path,
        ":scheme": "http",
        "x-request-id": "cf5cfa7b-613c-474a-83cb-a00104bae7ec",
        "x-forwarded-proto": "http",
        **(headers or {}),
    }
    for key, value in all_headers.items():
        http.headers[key] = value
    if body:
        http.body = body
        http.size = len(body.encode())
    request.attributes.source.address.socket_address.address = source
    request.attributes.source.address.socket_address.port_value = 56930
    if api_id is not None:
        request.attributes.context_extensions["api_id"] = api_id
        request.attributes.context_extensions["service"] = "orders"
    return request


async def call_check(
    port: int | None, request: external_auth_pb2.CheckRequest
) -> external_auth_pb2.CheckResponse:
    if port is None:
        raise ValueError("the gRPC face is not running")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = external_auth_pb2_grpc.AuthorizationStub(channel)
        response: external_auth_pb2.CheckResponse = await stub.Check(request, timeout=2.0)
        return response


def header_dict(options: Any) -> dict[str, str]:
    return {o.header.key: o.header.value for o in options}
