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
class DirectResponse:
    """A route's `direct_response`: Envoy answers itself (after ext_authz allowed)."""

    status: int
    body: str = ""


@dataclass(frozen=True)
class Route:
    """A route: requests for `authority` (or `*`) whose path starts with `prefix` and that carry
    every header in `headers` (exact values). Routes of one authority form a virtual host, as
    in Envoy: see `select_route`.

    `context_extensions` go into every CheckRequest of the route (the API binding:
    `api_id`, `service`); `disabled=True` turns ext_authz off for the route; `metadata` is the
    route's `filter_metadata` (namespace -> struct). Instead of forwarding, a route may answer
    with `direct_response` or redirect to `path_redirect` (301).
    """

    authority: str = "*"
    context_extensions: Mapping[str, str] = field(default_factory=dict)
    prefix: str = "/"
    disabled: bool = False
    metadata: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    headers: tuple[tuple[str, str], ...] = ()
    direct_response: DirectResponse | None = None
    path_redirect: str | None = None
    # Router `request_headers_to_add` (overwrite); values may use %DYNAMIC_METADATA(ns:key)%,
    # e.g. what ext_authz emitted under `envoy.filters.http.ext_authz`. Empty values are skipped.
    request_headers_to_add: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.prefix.startswith("/"):
            raise ValueError(
                f"Route.prefix={self.prefix!r} is not valid: it must start with '/', e.g. '/'"
            )
        if self.direct_response is not None and self.path_redirect is not None:
            raise ValueError(
                "Route: set direct_response or path_redirect, not both (Envoy's route action "
                "is one of route/direct_response/redirect)"
            )
        if self.path_redirect is not None and not self.path_redirect.startswith("/"):
            raise ValueError(
                f"Route.path_redirect={self.path_redirect!r} is not valid: it must start "
                "with '/', e.g. '/login'"
            )
        object.__setattr__(self, "context_extensions", dict(self.context_extensions))
        object.__setattr__(self, "metadata", {k: dict(v) for k, v in self.metadata.items()})
        object.__setattr__(self, "headers", tuple((k.lower(), v) for k, v in self.headers))
        object.__setattr__(self, "request_headers_to_add", tuple(self.request_headers_to_add))

    def matches(self, path: str, headers: Headers) -> bool:
        if not path.startswith(self.prefix):
            return False
        return all(header_value(headers, k) == v for k, v in self.headers)


def select_route(
    routes: list[Route], authority: str, path: str, headers: Headers | None = None
) -> Route | None:
    """Envoy's matching: the virtual host first (routes for exactly this authority, else the
    `*` ones), then the first route of it whose prefix (query excluded) and headers match."""
    path = path.partition("?")[0]
    host = authority.lower()
    exact = [r for r in routes if r.authority != "*" and r.authority.lower() == host]
    for route in exact or [r for r in routes if r.authority == "*"]:
        if route.matches(path, headers or []):
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
    check_s: float = 0.0
    """Seconds the ext_authz exchange took (0 when no check was sent or it is not known)."""

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)


class DataPlane(Protocol):
    """Anything that takes client requests the way Envoy does: simulated or real."""

    async def start(self) -> None: ...

    async def handle(self, request: ClientRequest) -> ClientResponse: ...

    async def close(self) -> None: ...
