"""The client request as Envoy's filter chain sees it (after the connection manager added
x-request-id and x-forwarded-proto), and the verdict an ext_authz call turns into.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from simulator import headers as hdr
from simulator.model import ClientRequest, Headers

# Hop-by-hop headers Envoy never forwards.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te"}
)


@dataclass
class Downstream:
    """A client request after Envoy's connection manager: lowercased headers without Host,
    plus the ids and addresses the filter reports."""

    method: str
    path: str
    authority: str
    scheme: str
    protocol: str
    headers: Headers
    body: bytes
    source_ip: str
    source_port: int
    dest_ip: str
    dest_port: int
    request_id: str
    stream_id: int
    received_wall: float
    tls: bool = False
    client_cert_pem: str | None = None
    sni: str | None = None
    # Request dynamic metadata (namespace -> struct), set by filters before ext_authz.
    dynamic_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)

    def pseudo(self) -> Headers:
        return [
            (":authority", self.authority),
            (":path", self.path),
            (":method", self.method),
            (":scheme", self.scheme),
        ]


def normalize(
    req: ClientRequest,
    rng: random.Random,
    received_wall: float,
    dest_ip: str,
    dest_port: int,
    tls: bool = False,
) -> Downstream:
    """What Envoy's HTTP connection manager does before any filter runs."""
    headers = hdr.lower_keys(req.headers)
    authority = req.authority
    host = hdr.header_or_none(headers, "host")
    if host is not None:
        authority = host
        headers = hdr.remove(headers, "host")
    headers = [(k, v) for k, v in headers if k not in HOP_BY_HOP]
    if req.body and not hdr.has(headers, "content-length"):
        headers.append(("content-length", str(len(req.body))))
    scheme = "https" if tls else req.scheme
    forwarded_proto = hdr.header_or_none(headers, "x-forwarded-proto")
    if forwarded_proto is None:
        headers.append(("x-forwarded-proto", scheme))
    elif forwarded_proto.lower() in ("http", "https"):
        scheme = forwarded_proto.lower()  # Envoy derives :scheme from a valid client XFP
    request_id = hdr.header_or_none(headers, "x-request-id")
    if request_id is None:
        request_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        headers.append(("x-request-id", request_id))
    return Downstream(
        method=req.method.upper(),
        path=req.path,
        authority=authority,
        scheme=scheme,
        protocol=req.protocol,
        headers=headers,
        body=req.body,
        source_ip=req.source_ip,
        source_port=req.source_port or rng.randint(32768, 60999),
        dest_ip=dest_ip,
        dest_port=dest_port,
        request_id=request_id,
        stream_id=rng.getrandbits(63),
        received_wall=received_wall,
        tls=tls,
        client_cert_pem=req.client_cert_pem if tls else None,
        sni=req.sni if tls else None,
    )


HeaderOp = tuple[Literal["set", "add", "add_if_absent", "overwrite_if_exists"], str, str]


@dataclass
class Verdict:
    """What the filter does with the authorization answer, independent of the transport."""

    kind: Literal["ok", "denied", "error"]
    status: int = 0  # local reply status (denied/error)
    local_headers: list[HeaderOp] = field(default_factory=list)
    body: bytes = b""
    upstream_set: Headers = field(default_factory=list)
    upstream_append: Headers = field(default_factory=list)  # comma-join if present, else drop
    upstream_add: Headers = field(default_factory=list)  # one more header line
    upstream_remove: list[str] = field(default_factory=list)
    response_ops: list[HeaderOp] = field(default_factory=list)
    query_set: list[tuple[str, str]] = field(default_factory=list)
    query_remove: list[str] = field(default_factory=list)
    invalid: bool = False  # validate_mutations rejected the answer
    detail: str = ""
    # Emitted as dynamic metadata `envoy.filters.http.ext_authz` (CheckResponse.dynamic_metadata,
    # or HTTP `dynamic_metadata_from_headers`).
    dynamic_metadata: dict[str, Any] = field(default_factory=dict)
