"""The gRPC data-plane face: `envoy.service.auth.v3.Authorization/Check` on grpc.aio.
Turns a CheckRequest into a `CheckInput`, asks a handler for a `Decision`, and answers the
way Envoy expects (explicit status; denies carry HTTP status, headers and a JSON body)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import grpc
from envoy.config.core.v3 import base_pb2
from envoy.service.auth.v3 import external_auth_pb2, external_auth_pb2_grpc
from envoy.type.v3 import http_status_pb2
from google.rpc import code_pb2, status_pb2

from reference_adapter.model import CheckInput, Decision, Denial

Handler = Callable[[CheckInput], Awaitable[Decision]]
INTERNAL_ERROR = Denial.of(500, "internal error in the adapter")
log = logging.getLogger("reference_adapter.grpc")

_GRPC_CODE_FOR_HTTP = {
    400: code_pb2.INVALID_ARGUMENT,
    401: code_pb2.UNAUTHENTICATED,
    403: code_pb2.PERMISSION_DENIED,
    413: code_pb2.INVALID_ARGUMENT,
    429: code_pb2.RESOURCE_EXHAUSTED,
    500: code_pb2.INTERNAL,
    503: code_pb2.UNAVAILABLE,
}
_OVERWRITE = base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD
_APPEND = base_pb2.HeaderValueOption.APPEND_IF_EXISTS_OR_ADD


def check_input(request: external_auth_pb2.CheckRequest) -> CheckInput:
    """The `CheckInput` for a CheckRequest. The API id comes from the ``api_id`` context
    extension (kit convention); headers are lowercased defensively."""
    attributes = request.attributes
    http = attributes.request.http
    raw_headers = http.headers
    headers = {k.lower(): v for k, v in raw_headers.items()} if raw_headers else {}
    if not headers and len(http.header_map.headers):
        for entry in http.header_map.headers:
            value = entry.raw_value.decode("utf-8", "replace") if entry.raw_value else entry.value
            key = entry.key.lower()
            headers[key] = f"{headers[key]},{value}" if key in headers else value
    extensions = attributes.context_extensions
    body: bytes | None = None
    if http.raw_body:
        body = bytes(http.raw_body)
    elif http.body:
        body = http.body.encode("utf-8")
    return CheckInput(
        api_id=extensions.get("api_id", ""),
        method=http.method or headers.get(":method", ""),
        path=http.path or headers.get(":path", ""),
        headers=headers,
        source_ip=attributes.source.address.socket_address.address,
        body=body,
        host=http.host or headers.get(":authority", ""),
        scheme=http.scheme or headers.get(":scheme", "http"),
        request_id=headers.get("x-request-id", ""),
        size=int(http.size),
        service=extensions.get("service", ""),
    )


def _header(name: str, value: str, append: bool = False) -> base_pb2.HeaderValueOption:
    option = base_pb2.HeaderValueOption(header=base_pb2.HeaderValue(key=name, value=value))
    if append:
        option.append.value = True
    return option


def check_response(decision: Decision) -> external_auth_pb2.CheckResponse:
    """The CheckResponse Envoy should get for a decision."""
    if decision.allowed:
        ok = external_auth_pb2.OkHttpResponse(
            headers=[_header(k, v) for k, v in decision.upstream_set]
            + [_header(k, v, append=True) for k, v in decision.upstream_append],
            headers_to_remove=list(decision.upstream_remove),
        )
        for name, value in decision.response_headers:
            option = ok.response_headers_to_add.add()
            option.header.key = name
            option.header.value = value
            option.append_action = _OVERWRITE
        for name, value in decision.response_append:
            option = ok.response_headers_to_add.add()
            option.header.key = name
            option.header.value = value
            option.append_action = _APPEND
        return external_auth_pb2.CheckResponse(
            status=status_pb2.Status(code=code_pb2.OK), ok_response=ok
        )
    code = _GRPC_CODE_FOR_HTTP.get(decision.status, code_pb2.PERMISSION_DENIED)
    return external_auth_pb2.CheckResponse(
        status=status_pb2.Status(code=code, message=decision.message),
        denied_response=external_auth_pb2.DeniedHttpResponse(
            status=http_status_pb2.HttpStatus(code=decision.status),
            headers=[_header(k, v) for k, v in decision.headers],
            body=decision.body.decode("utf-8", "replace"),
        ),
    )


class AuthorizationService(external_auth_pb2_grpc.AuthorizationServicer):
    """The servicer: one `Handler` call per Check."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler

    async def Check(
        self, request: external_auth_pb2.CheckRequest, context: grpc.aio.ServicerContext
    ) -> external_auth_pb2.CheckResponse:
        try:
            decision = await self._handler(check_input(request))
        except Exception:  # a bug must not become Envoy's status_on_error silently
            log.exception("ext_authz Check failed; answering 500")
            decision = Decision("").deny(INTERNAL_ERROR, None)
        return check_response(decision)


async def start_grpc_server(
    handler: Handler, port: int = 0, host: str = "127.0.0.1"
) -> tuple[grpc.aio.Server, int]:
    """Start a grpc.aio server for ``handler`` on ``host:port`` (0: ephemeral); returns the
    server and the bound port."""
    server = grpc.aio.server()
    external_auth_pb2_grpc.add_AuthorizationServicer_to_server(
        AuthorizationService(handler), server
    )
    try:
        bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError:  # grpcio raises RuntimeError("Failed to bind ...")
        bound = 0
    if bound == 0:
        await server.stop(None)
        raise OSError(
            f"cannot bind the gRPC ext_authz server to {host}:{port} (port in use?): "
            "pick another --grpc-port or 0 for an ephemeral one"
        )
    await server.start()
    return server, bound
