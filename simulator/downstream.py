"""The client request as Envoy's filter chain sees it (after the connection manager added
x-request-id, x-forwarded-proto and, with use_remote_address, the client's address), and the
verdict an ext_authz call turns into.
"""

from __future__ import annotations

import functools
import random
import socket
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
    use_remote_address: bool = False,
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
    if use_remote_address:
        headers = remote_address_headers(headers, req.source_ip)
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


def remote_address_headers(headers: Headers, source_ip: str) -> Headers:
    """`use_remote_address` (observed on Envoy 1.40): the client's address is appended to
    x-forwarded-for (``a,b``, no space; Envoy's own address for a client at exactly 127.0.0.1
    or ::1) and set as x-envoy-external-address (no address is internal by default, so every
    client is external and a client's own value is replaced)."""
    appended = host_address() if source_ip in ("127.0.0.1", "::1") else source_ip
    out = [(k, v) for k, v in headers if k != "x-envoy-external-address"]
    for i, (k, v) in enumerate(out):
        if k == "x-forwarded-for":
            out[i] = (k, f"{v},{appended}")
            break
    else:
        out.append(("x-forwarded-for", appended))
    out.append(("x-envoy-external-address", source_ip))
    return out


@functools.cache
def host_address() -> str:
    """The address Envoy calls its own (`getLocalAddress`): the first IPv4 address of a
    network interface other than loopback, else 127.0.0.1. Read from the interfaces, not by
    sending anything."""
    try:
        import fcntl  # SIOCGIFADDR is Linux's; elsewhere the ioctl fails and 127.0.0.1 is used

        interfaces = socket.if_nameindex()
    except (ImportError, OSError):  # no fcntl (Windows) or no interface list
        return "127.0.0.1"
    siocgifaddr = 0x8915
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in interfaces:
            try:
                packed = fcntl.ioctl(
                    probe.fileno(), siocgifaddr, name[:15].encode().ljust(256, b"\0")
                )
            except OSError:
                continue  # the interface has no IPv4 address
            address = socket.inet_ntoa(packed[20:24])
            if not address.startswith("127."):
                return address
    return "127.0.0.1"


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
