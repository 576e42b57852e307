"""The differential case model: one behaviour, one transport, one client request, one scripted
adapter answer, and what both data planes must show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
from envoy.config.core.v3 import base_pb2

from simulator import (
    ClientRequest,
    DirectResponse,
    EnvoySettings,
    HttpAnswer,
    Route,
    StringMatcher,
)
from tests.simulator.helpers import AUTHORITY

A = base_pb2.HeaderValueOption.HeaderAppendAction
ROUTES = (
    Route(authority=AUTHORITY, prefix="/static", disabled=True),
    Route(authority=AUTHORITY, prefix="/v2", context_extensions={"api_id": "2", "service": "v2"}),
    Route(authority=AUTHORITY, prefix="/direct", direct_response=DirectResponse(200, "direct hi")),
    Route(authority=AUTHORITY, prefix="/nocontent", direct_response=DirectResponse(204)),
    Route(authority=AUTHORITY, prefix="/old", path_redirect="/new"),
    Route(
        authority=AUTHORITY,
        prefix="/dyn",
        request_headers_to_add=(
            ("x-authz-user", "%DYNAMIC_METADATA(envoy.filters.http.ext_authz:user)%"),
            ("x-authz-n", "n=%DYNAMIC_METADATA(envoy.filters.http.ext_authz:n)%"),
            ("x-authz-missing", "%DYNAMIC_METADATA(envoy.filters.http.ext_authz:none)%"),
            ("x-tenant-md", "%DYNAMIC_METADATA(lab.dyn:tenant)%"),
        ),
    ),
    # Reached only when the request carries x-canary: 1 (clear_route_cache cases).
    Route(
        authority=AUTHORITY,
        prefix="/canary",
        headers=(("x-canary", "1"),),
        direct_response=DirectResponse(200, "canary route"),
    ),
    Route(
        authority=AUTHORITY,
        context_extensions={"api_id": "10001", "service": "orders"},
        metadata={"lab.route": {"route_key": "r1", "tier": "gold"}, "lab.other": {"k": "v"}},
    ),
    Route(authority="*", prefix="/public", context_extensions={"api_id": "3"}),
)
# A roomy timeout so a busy machine does not turn a case into a timeout; the timeout cases
# set their own.
GRPC = EnvoySettings(timeout_ms=1000)
HTTP = EnvoySettings(transport="http", timeout_ms=1000)


def m(*names: str) -> tuple[StringMatcher, ...]:
    return tuple(StringMatcher(exact=n) for n in names)


@dataclass
class Case:
    """One behaviour, one transport. `expect` is checked on both data planes."""

    behaviour: str
    settings: EnvoySettings
    request: ClientRequest
    grpc_answer: Any = None  # CheckResponse or callable
    http_answer: HttpAnswer | None = None
    abort: grpc.StatusCode | None = None
    abort_calls: int | None = None  # abort only the first N calls (retries)
    http_script: tuple[HttpAnswer, ...] = ()  # HTTP answers before http_answer (retries)
    delay_s: float = 0.0
    dead_adapter: bool = False
    upstream_answer: tuple[int, list[tuple[str, str]], bytes] | None = None
    expect_status: int = 200
    expect_decision: str = "allowed"
    source: str = ""

    @property
    def transport(self) -> str:
        return self.settings.transport


def req(
    method: str = "GET", path: str = "/orders?x=1", headers: Any = (), body: bytes = b"", **kw: Any
) -> ClientRequest:
    return ClientRequest(
        method=method,
        path=path,
        headers=list(headers),
        body=body,
        authority=kw.pop("authority", AUTHORITY),
        **kw,
    )


MUTATION_HEADERS = [
    ("X-Existing", "orig"),
    ("x-overwrite", "old"),
    ("x-add-if-absent", "present"),
    ("x-aie", "orig"),
    ("x-remove-me", "secret"),
    ("Authorization", "Bearer t"),
    ("x-dup", "a"),
    ("x-dup", "b"),
]
