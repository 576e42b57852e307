"""gRPC ext_authz as Envoy 1.40 does it: build the CheckRequest, call
`envoy.service.auth.v3.Authorization/Check` (with grpc.aio or the kit's own HTTP/2 client), and
read the CheckResponse.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any

import grpc
from envoy.config.core.v3 import base_pb2
from envoy.service.auth.v3 import attribute_context_pb2, external_auth_pb2, external_auth_pb2_grpc
from google.protobuf import json_format, struct_pb2
from google.protobuf.message import DecodeError

from simulator import headers as hdr
from simulator.downstream import Downstream, HeaderOp, Verdict, host_address
from simulator.envoy_config import route_metadata
from simulator.h2_grpc import GrpcChannel, GrpcError
from simulator.model import Headers, Route
from simulator.settings import EnvoySettings, any_match
from simulator.tls import principal_of, url_encoded_pem

PARTIAL_BODY = "x-envoy-auth-partial-body"


@dataclass
class BufferedBody:
    """The body the filter buffered for the check (None = header-only request)."""

    data: bytes
    partial: bool


def check_headers(
    settings: EnvoySettings, down: Downstream, buffered: BufferedBody | None
) -> Headers:
    """The (unmerged) header list the check sees, after allowed/disallowed filtering."""
    headers = down.pseudo() + [(k, v) for k, v in down.headers if k != PARTIAL_BODY]
    if buffered is not None:
        headers.append((PARTIAL_BODY, "true" if buffered.partial else "false"))
    allowed = settings.allowed_headers
    return [
        (k, v)
        for k, v in headers
        if (allowed is None or any_match(allowed, k))
        and not any_match(settings.disallowed_headers, k)
    ]


def build_check_request(
    settings: EnvoySettings,
    route: Route,
    down: Downstream,
    buffered: BufferedBody | None,
) -> external_auth_pb2.CheckRequest:
    """The CheckRequest Envoy sends, field by field. Long on purpose: it mirrors Envoy's message in
    order."""
    attrs = attribute_context_pb2.AttributeContext()
    attrs.source.address.socket_address.address = down.source_ip
    attrs.source.address.socket_address.port_value = down.source_port
    attrs.destination.address.socket_address.address = down.dest_ip
    attrs.destination.address.socket_address.port_value = down.dest_port
    req = attrs.request
    seconds = int(down.received_wall)
    req.time.seconds = seconds
    req.time.nanos = round((down.received_wall - seconds) * 1e6) * 1000
    http = req.http
    http.id = str(down.stream_id)
    http.method = down.method
    headers = check_headers(settings, down, buffered)
    if settings.encode_raw_headers:
        for k, v in headers:  # one entry per header line, not merged
            http.header_map.headers.add(key=k, raw_value=hdr.wire_bytes(v))
    else:
        for k, v in hdr.merged(headers).items():
            http.headers[k] = hdr.sanitize_utf8(hdr.wire_bytes(v))
    http.path = down.path
    http.host = down.authority
    http.scheme = down.scheme
    http.protocol = down.protocol
    if buffered is not None:
        # Envoy reports a size only for a buffered body: Content-Length, else what it buffered.
        length = hdr.header_or_none(down.headers, "content-length")
        http.size = int(length) if length is not None and length.isdigit() else len(buffered.data)
    if buffered is not None and buffered.data:
        if settings.with_request_body is not None and settings.with_request_body.pack_as_bytes:
            http.raw_body = buffered.data
        else:
            http.body = hdr.sanitize_utf8(buffered.data)
    for k, v in route.context_extensions.items():
        attrs.context_extensions[k] = v
    if down.tls:
        tls = settings.listener_tls
        assert tls is not None
        attrs.destination.principal = principal_of(tls.server_cert_pem)
        if down.client_cert_pem:
            attrs.source.principal = principal_of(down.client_cert_pem)
            if settings.include_peer_certificate:
                attrs.source.certificate = url_encoded_pem(down.client_cert_pem)
    if settings.include_tls_session:
        attrs.tls_session.SetInParent()
        if down.tls and down.sni:
            attrs.tls_session.sni = down.sni
    labels = settings.node_metadata.get(settings.bootstrap_metadata_labels_key)
    if settings.bootstrap_metadata_labels_key and isinstance(labels, dict):
        for k, v in labels.items():
            attrs.destination.labels[k] = v if isinstance(v, str) else ""
    # Envoy always sets these two (empty without metadata namespaces configured).
    attrs.metadata_context.SetInParent()
    attrs.route_metadata_context.SetInParent()
    _copy_namespaces(
        attrs.metadata_context, down.dynamic_metadata, settings.metadata_context_namespaces
    )
    _copy_namespaces(
        attrs.route_metadata_context,
        route_metadata(route),
        settings.route_metadata_context_namespaces,
    )
    return external_auth_pb2.CheckRequest(attributes=attrs)


def _copy_namespaces(
    target: Any, source: dict[str, dict[str, Any]], names: tuple[str, ...]
) -> None:
    for name in names:
        if name in source:
            struct = struct_pb2.Struct()
            struct.update(source[name])
            target.filter_metadata[name].CopyFrom(struct)


def to_dict(msg: Any) -> dict[str, Any]:
    """A protobuf message as a JSON-able dict with the proto field names."""
    out: dict[str, Any] = json_format.MessageToDict(msg, preserving_proto_field_name=True)
    return out


DESERIALIZE_ERROR = "Exception deserializing response!"
"""grpc.aio's details for a response that is not a CheckResponse."""

CONNECT_WAIT_MS = 20_000
"""How long a connection attempt may wait for the adapter's HTTP/2 SETTINGS frame."""

RECONNECT = (
    ("grpc.initial_reconnect_backoff_ms", 50),
    ("grpc.max_reconnect_backoff_ms", 500),
    # gRPC core reads this argument as the least time a connection attempt may take before
    # the server's SETTINGS arrive, not as a back-off (50 ms failed every first check of an
    # adapter slow to answer the handshake on a loaded machine, 'connection attempt timed
    # out before receiving SETTINGS frame'). Envoy never waits for SETTINGS: the call's own
    # deadline bounds it, so the attempt must outlive any deadline (gRPC's default, 20 s).
    ("grpc.min_reconnect_backoff_ms", CONNECT_WAIT_MS),
)
"""Reconnect quickly after the adapter went away, as Envoy's connection pool does."""


CHECK_PATH = "/envoy.service.auth.v3.Authorization/Check"
GRPC_CLIENTS = ("grpcio", "asmkit")
"""The gRPC clients the simulated Envoy can call the adapter with: grpc.aio (the default) or
the kit's own HTTP/2 client (`simulator.h2_grpc`, under half of grpc.aio's CPU per check)."""


class _RpcFailure(Exception):
    """A check that ended with a gRPC status other than OK, whichever client made it."""

    def __init__(self, code: int, name: str, details: str) -> None:
        super().__init__(f"{name}: {details}")
        self.code, self.name, self.details = code, name, details


class GrpcAuthz:
    """One gRPC channel to the adapter; `check` never raises for RPC failures. ``client`` picks
    the gRPC client (`GRPC_CLIENTS`); both give the same verdicts."""

    def __init__(
        self,
        settings: EnvoySettings,
        *,
        record: bool = True,
        rng: random.Random | None = None,
        client: str = "grpcio",
    ) -> None:
        if client not in GRPC_CLIENTS:
            raise ValueError(f"gRPC client {client!r} is not one of {', '.join(GRPC_CLIENTS)}")
        self._settings = settings
        # (RECONNECT: Envoy tries a new connection for the next check, it does not wait out
        # gRPC's default 1-120 s reconnect backoff after an adapter restart)
        self._record = record  # False: skip the dict copies (load runs)
        self._rng = rng or random.Random(0)
        self.client = client
        self._channel: grpc.aio.Channel | None = None
        self._stub: Any = None
        self._h2: GrpcChannel | None = None
        self._metadata: tuple[tuple[str, str], ...] = (
            ("x-forwarded-for", host_address()),  # Envoy's own address
            ("x-envoy-internal", "true"),
            ("x-envoy-expected-rq-timeout-ms", str(settings.expected_timeout_ms)),
        )

    async def start(self) -> None:
        s = self._settings
        if self.client == "asmkit":
            self._h2 = GrpcChannel(
                s.authz_host, s.authz_port, authority=s.grpc_authority, metadata=self._metadata
            )
            return
        self._channel = grpc.aio.insecure_channel(
            f"{s.authz_host}:{s.authz_port}",
            options=[("grpc.default_authority", s.grpc_authority), *RECONNECT],
        )
        self._stub = external_auth_pb2_grpc.AuthorizationStub(self._channel)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
        if self._h2 is not None:
            await self._h2.close()
            self._h2 = None

    async def run(
        self, route: Route, down: Downstream, buffered: BufferedBody | None
    ) -> tuple[Verdict, dict[str, Any] | None, dict[str, Any] | None]:
        """Build, send and read one check: (verdict, check_request, check_response)."""
        creq = build_check_request(self._settings, route, down, buffered)
        resp, reason = await self.check(creq)
        if resp is None:
            verdict = Verdict(kind="error", status=self._settings.status_on_error, detail=reason)
            return verdict, to_dict(creq) if self._record else None, None
        verdict = read_check_response(self._settings, resp)
        if not self._record:
            return verdict, None, None
        return verdict, to_dict(creq), to_dict(resp)

    async def _call(
        self, request: external_auth_pb2.CheckRequest, left: float
    ) -> external_auth_pb2.CheckResponse:
        """One attempt with ``left`` seconds (grpc-timeout: the whole budget, as Envoy sends
        it). Raises `_RpcFailure`."""
        if self._h2 is not None:
            try:
                body = await self._h2.unary(CHECK_PATH, request.SerializeToString(), timeout=left)
            except GrpcError as err:
                raise _RpcFailure(err.code, err.name, err.message) from None
            try:
                return external_auth_pb2.CheckResponse.FromString(body)
            except DecodeError:
                code = grpc.StatusCode.INTERNAL  # what grpc.aio reports for it
                raise _RpcFailure(code.value[0], code.name, DESERIALIZE_ERROR) from None
        try:
            resp: external_auth_pb2.CheckResponse = await self._stub.Check(
                request, timeout=left, metadata=self._metadata
            )
        except grpc.aio.AioRpcError as err:
            code = err.code()
            raise _RpcFailure(code.value[0], code.name, err.details() or "") from None
        return resp

    async def check(
        self, request: external_auth_pb2.CheckRequest
    ) -> tuple[external_auth_pb2.CheckResponse | None, str]:
        """(response, "") or (None, reason) on an RPC error or timeout."""
        if self._stub is None and self._h2 is None:
            raise RuntimeError("SimulatedEnvoy is not started: await envoy.start() first")
        s = self._settings
        loop = asyncio.get_running_loop()
        deadline = loop.time() + s.timeout_ms / 1000.0
        policy = s.retry_policy
        attempt = 0
        while True:
            left = deadline - loop.time()
            try:
                if left <= 0:
                    raise TimeoutError
                if policy is None:
                    resp = await self._call(request, left)
                else:
                    per_try = policy.per_try_timeout_ms / 1000.0
                    resp = await asyncio.wait_for(self._call(request, left), per_try)
            except TimeoutError:
                if (
                    policy is not None
                    and attempt < policy.num_retries
                    and deadline > loop.time()
                    and policy.retries_http(504)  # a per-try timeout counts as a 504
                ):
                    attempt += 1
                    continue
                return None, "rpc DEADLINE_EXCEEDED: timeout"
            except _RpcFailure as err:
                retry = (
                    policy is not None
                    and attempt < policy.num_retries
                    and err.code != grpc.StatusCode.DEADLINE_EXCEEDED.value[0]
                    and policy.retries_grpc(err.code)
                )
                if not retry:
                    return None, f"rpc {err.name}: {err.details}"
                assert policy is not None
                attempt += 1
                # Envoy's jittered exponential back-off: uniform in [0, base * 2^(n-1)).
                await asyncio.sleep(
                    self._rng.random() * policy.base_interval_ms * 2 ** (attempt - 1) / 1000.0
                )
                continue
            return resp, ""


def _local_reply_ops(options: Any, *, keep_appends: bool) -> list[HeaderOp]:
    """denied_response/error_response headers are set. An `append: true` header is dropped
    from a deny but added as one more line to an error reply (both observed on Envoy 1.40)."""
    ops: list[HeaderOp] = []
    for o in options:
        key, value = o.header.key.lower(), o.header.value
        if o.HasField("append") and o.append.value:
            if keep_appends:
                ops.append(("add", key, value))
        else:
            ops.append(("set", key, value))
    return ops


def _option_ops(options: Any, *, honour_action: bool) -> list[HeaderOp]:
    """HeaderValueOptions as header ops. `append` (BoolValue) wins when present; otherwise
    `append_action` is honoured only where Envoy honours it (response_headers_to_add)."""
    ops: list[HeaderOp] = []
    action = base_pb2.HeaderValueOption
    for opt in options:
        key, value = opt.header.key.lower(), opt.header.value
        if opt.HasField("append"):
            ops.append(("add" if opt.append.value else "set", key, value))
        elif not honour_action:
            ops.append(("set", key, value))
        elif opt.append_action == action.ADD_IF_ABSENT:
            ops.append(("add_if_absent", key, value))
        elif opt.append_action == action.OVERWRITE_IF_EXISTS_OR_ADD:
            ops.append(("set", key, value))
        elif opt.append_action == action.OVERWRITE_IF_EXISTS:
            ops.append(("overwrite_if_exists", key, value))
        else:
            ops.append(("add", key, value))
    return ops


def _all_valid(options: Any) -> bool:
    return all(hdr.valid_name(o.header.key) and hdr.valid_value(o.header.value) for o in options)


def read_check_response(settings: EnvoySettings, resp: external_auth_pb2.CheckResponse) -> Verdict:
    """Envoy's decision logic (ext_authz_grpc_impl.cc) plus the filter's mutation rules."""
    code = resp.status.code if resp.HasField("status") else 0
    if code == 0:
        ok = resp.ok_response
        verdict = Verdict(kind="ok")
        if resp.HasField("dynamic_metadata"):
            verdict.dynamic_metadata = json_format.MessageToDict(resp.dynamic_metadata)
        for opt in ok.headers:
            key, value = opt.header.key.lower(), opt.header.value
            if opt.HasField("append") and opt.append.value:
                verdict.upstream_append.append((key, value))
            else:
                verdict.upstream_set.append((key, value))
        verdict.upstream_remove = [h.lower() for h in ok.headers_to_remove]
        verdict.response_ops = _option_ops(ok.response_headers_to_add, honour_action=True)
        verdict.query_set = [(q.key, q.value) for q in ok.query_parameters_to_set]
        verdict.query_remove = list(ok.query_parameters_to_remove)
        if settings.validate_mutations and not (
            _all_valid(ok.headers)
            and _all_valid(ok.response_headers_to_add)
            and all(hdr.valid_name(h) for h in ok.headers_to_remove)
            and all(q.key and hdr.valid_value(q.key + q.value) for q in ok.query_parameters_to_set)
        ):
            verdict.invalid = True
        return verdict
    if resp.HasField("error_response"):
        err = resp.error_response
        if settings.validate_mutations and not _all_valid(err.headers):
            return Verdict(kind="error", status=settings.status_on_error, detail="invalid headers")
        return Verdict(
            kind="error",
            status=err.status.code if err.status.code > 0 else settings.status_on_error,
            local_headers=_local_reply_ops(err.headers, keep_appends=True),
            body=err.body.encode(),
            detail="error_response",
        )
    denied = resp.denied_response
    return Verdict(
        kind="denied",
        status=denied.status.code if denied.status.code > 0 else 403,
        local_headers=_local_reply_ops(denied.headers, keep_appends=False),
        body=denied.body.encode(),
        detail=f"status {code}",
    )
