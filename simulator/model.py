"""The data-plane vocabulary: client requests and responses, upstream records, routes, and the
`DataPlane` protocol that the simulated and the real Envoy both implement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Headers = list[tuple[str, str]]
Decision = Literal["allowed", "denied", "error", "skipped"]


def header_values(headers: Headers, name: str) -> list[str]:
    """Every value of `name` (case-insensitive), in order."""
    low = name.lower()
    return [v for k, v in headers if k.lower() == low]


def header_value(headers: Headers, name: str) -> str | None:
    """The values of `name` joined with ',' (as Envoy joins them), or None if absent."""
    vals = header_values(headers, name)
    return ",".join(vals) if vals else None


@dataclass(frozen=True)
class Route:
    """A route: requests for `authority` (or `*`) whose path starts with `prefix`. Routes of
    one authority form a virtual host, as in Envoy: see `select_route`.

    `context_extensions` go into every CheckRequest of the route (the API binding:
    `api_id`, `service`); `disabled=True` turns ext_authz off for the route.
    """

    authority: str = "*"
    context_extensions: Mapping[str, str] = field(default_factory=dict)
    prefix: str = "/"
    disabled: bool = False

    def __post_init__(self) -> None:
        if not self.prefix.startswith("/"):
            raise ValueError(
                f"Route.prefix={self.prefix!r} is not valid: it must start with '/', e.g. '/'"
            )
        object.__setattr__(self, "context_extensions", dict(self.context_extensions))


def select_route(routes: list[Route], authority: str, path: str) -> Route | None:
    """Envoy's matching: the virtual host first (routes for exactly this authority, else the
    `*` ones), then the first route of it whose prefix matches the path (query excluded)."""
    path = path.partition("?")[0]
    host = authority.lower()
    exact = [r for r in routes if r.authority != "*" and r.authority.lower() == host]
    for route in exact or [r for r in routes if r.authority == "*"]:
        if path.startswith(route.prefix):
            return route
    return None


@dataclass
class ClientRequest:
    """What a client sends to Envoy's listener. `headers` exclude Host: use `authority`."""

    method: str = "GET"
    path: str = "/"
    headers: Headers = field(default_factory=list)
    body: bytes = b""
    authority: str = "localhost"
    source_ip: str = "127.0.0.1"
    source_port: int = 0  # 0 = pick an ephemeral-looking port
    protocol: str = "HTTP/1.1"
    scheme: str = "http"
    # TLS listeners only: the client certificate (PEM) and key, and the SNI sent.
    client_cert_pem: str | None = None
    client_key_pem: str | None = None
    sni: str | None = None

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)


@dataclass
class UpstreamRequest:
    """What the upstream received: method, raw path, headers as received, body, clock time."""

    method: str
    path: str
    headers: Headers
    body: bytes
    at: float

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "headers": [list(h) for h in self.headers],
            "body": self.body.decode("utf-8", "replace"),
        }


@dataclass
class ClientResponse:
    """What the client got back, plus what happened on the way.

    `decision` is the ext_authz outcome (Envoy's stats `ok`/`denied`/`error`; `skipped` when no
    check was sent). A fail-open error has `decision="error"`, `failure_mode_allowed=True` and
    reaches the upstream. `check_request`/`check_response` are the CheckRequest/CheckResponse as
    dicts (protobuf field names) in gRPC mode, or `{method, path, headers, body}` /
    `{status, headers, body}` in HTTP mode; None when nothing was sent or received.
    """

    status: int
    headers: Headers
    body: bytes
    decision: Decision
    check_request: dict[str, Any] | None = None
    check_response: dict[str, Any] | None = None
    upstream: UpstreamRequest | None = None
    duration_s: float = 0.0
    failure_mode_allowed: bool = False
    detail: str = ""

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)


class DataPlane(Protocol):
    """Anything that takes client requests the way Envoy does: simulated or real."""

    async def start(self) -> None: ...

    async def handle(self, request: ClientRequest) -> ClientResponse: ...

    async def close(self) -> None: ...
