"""HTTP-service ext_authz as Envoy 1.40 does it: the auth request (original method,
path_prefix + path, the default header allow-list) and how the auth answer is read.
"""

from __future__ import annotations

import asyncio
import random
import re
from typing import Any

from simulator import headers as hdr
from simulator.downstream import Downstream, HeaderOp, Verdict
from simulator.envoy_config import route_metadata
from simulator.grpc_check import PARTIAL_BODY, BufferedBody
from simulator.http1 import Http1Client, ProtocolError
from simulator.model import Headers, Route
from simulator.settings import EnvoySettings, StringMatcher, any_match

# Always forwarded to the auth server (Envoy's `toRequestMatchers`); :authority becomes host.
DEFAULT_REQUEST_HEADERS = frozenset({"authorization", ":method", ":path", ":authority"})
# Always passed to the client on a deny when allowed_client_headers is set.
DEFAULT_CLIENT_HEADERS = frozenset(
    {"path", "status", "content-length", "www-authenticate", "location"}
)
HEADERS_TO_REMOVE = "x-envoy-auth-headers-to-remove"
CONNECTIONS = 256
"""Keep-alive connections to the authorization service."""


_REQ = re.compile(r"%REQ\(([^)]+)\)%")
_ROUTE_METADATA = re.compile(r"%METADATA\(ROUTE:([^:)]+):([^)]+)\)%")


def format_value(value: str, route: Route, down: Downstream) -> str:
    """The two Envoy substitutions the kit uses in `headers_to_add`: `%REQ(header)%` and
    `%METADATA(ROUTE:namespace:key)%` (`asmkit` holds a route's context_extensions)."""

    def req(match: re.Match[str]) -> str:
        name = match.group(1).strip().lower()
        if name == ":authority":
            return down.authority
        return hdr.header_or_none(down.pseudo() + down.headers, name) or ""

    def metadata(match: re.Match[str]) -> str:
        value = route_metadata(route).get(match.group(1), {}).get(match.group(2))
        return "" if value is None else str(value)

    return _ROUTE_METADATA.sub(metadata, _REQ.sub(req, value))


def auth_request_headers(
    settings: EnvoySettings,
    down: Downstream,
    buffered: BufferedBody | None,
    route: Route | None = None,
) -> Headers:
    """The headers of the auth request, comma-merged as Envoy merges them."""
    allowed = settings.allowed_headers or ()
    picked: Headers = []
    for key, value in down.pseudo() + down.headers:
        if key in (PARTIAL_BODY, "content-length"):
            continue
        if (key in DEFAULT_REQUEST_HEADERS or any_match(allowed, key)) and not any_match(
            settings.disallowed_headers, key
        ):
            if key == ":authority":
                picked.append(("host", value))
            elif not key.startswith(":"):
                picked.append((key, value))
    out = picked if settings.encode_raw_headers else list(hdr.merged(picked).items())
    out.append(("content-length", str(len(buffered.data) if buffered else 0)))
    if buffered is not None:
        out.append((PARTIAL_BODY, "true" if buffered.partial else "false"))
    for extra in settings.http_service.headers_to_add:
        value = format_value(extra.value, route, down) if route is not None else extra.value
        out = hdr.set_header(out, extra.key, value)
    out.append(("x-envoy-internal", "true"))
    out.append(("x-envoy-expected-rq-timeout-ms", str(settings.expected_timeout_ms)))
    return out


def _matching(headers: Headers, matchers: tuple[StringMatcher, ...]) -> Headers:
    return [(k, v) for k, v in headers if any_match(matchers, k)]


def read_auth_response(
    settings: EnvoySettings, status: int, headers: Headers, body: bytes
) -> Verdict:
    """Envoy's `RawHttpClientImpl::toResponse`: 200 allows, 5xx errors, the rest denies."""
    h = settings.http_service
    headers = [(k.lower(), v) for k, v in headers]
    if status == 200:
        verdict = Verdict(kind="ok", detail="http 200")
        verdict.upstream_set = _matching(headers, h.allowed_upstream_headers)
        verdict.upstream_add = _matching(headers, h.allowed_upstream_headers_to_append)
        for value in hdr.header_values_of(headers, HEADERS_TO_REMOVE):
            verdict.upstream_remove.extend(n.strip().lower() for n in value.split(",") if n.strip())
        verdict.response_ops = [
            ("add", k, v) for k, v in _matching(headers, h.allowed_client_headers_on_success)
        ]
        verdict.dynamic_metadata = dict(_matching(headers, h.dynamic_metadata_from_headers))
        return verdict
    if status >= 500:
        return Verdict(kind="error", status=settings.status_on_error, detail=f"http {status}")
    if h.allowed_client_headers is None:
        to_client = [(k, v) for k, v in headers if k != "host"]
    else:
        to_client = [
            (k, v)
            for k, v in headers
            if k in DEFAULT_CLIENT_HEADERS or any_match(h.allowed_client_headers, k)
        ]
    ops: list[HeaderOp] = [("add", k, v) for k, v in to_client if k != "content-length"]
    return Verdict(
        kind="denied", status=status, local_headers=ops, body=body, detail=f"http {status}"
    )


class HttpAuthz:
    """The HTTP auth client (the kit's `Http1Client`, keep-alive connections to the service),
    `status_on_error` on any failure."""

    def __init__(self, settings: EnvoySettings, rng: random.Random | None = None) -> None:
        self._settings = settings
        self._rng = rng or random.Random(0)
        self._client: Http1Client | None = None

    async def start(self) -> None:
        if self._client is None:
            s = self._settings
            self._client = Http1Client(s.authz_host, s.authz_port, limit=CONNECTIONS)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def run(
        self, route: Route, down: Downstream, buffered: BufferedBody | None
    ) -> tuple[Verdict, dict[str, Any] | None, dict[str, Any] | None]:
        """One HTTP-service check with Envoy's retries and timeouts. Long on purpose: Envoy's retry
        loop and its outcomes in one reading."""
        client = self._client
        if client is None:
            raise RuntimeError("SimulatedEnvoy is not started: await envoy.start() first")
        s = self._settings
        path = s.http_service.path_prefix + down.path
        headers = auth_request_headers(s, down, buffered, route)
        data = buffered.data if buffered else b""
        sent = {
            "method": down.method,
            "path": path,
            "headers": [list(h) for h in headers],
            "body": data.decode("utf-8", "replace"),
        }
        loop = asyncio.get_running_loop()
        deadline = loop.time() + s.timeout_ms / 1000.0
        policy = s.retry_policy
        attempt = 0
        while True:
            try:
                left = deadline - loop.time()
                if left <= 0:
                    raise TimeoutError
                resp = await client.request(
                    down.method,
                    path,
                    headers,
                    data,
                    timeout=min(left, s.expected_timeout_ms / 1000.0),
                )
                body, got = resp.body, resp.raw_headers
                status: int | None = resp.status
            except TimeoutError as err:
                # A per-try timeout is retried like a 504; the overall timeout is final.
                if policy is None or deadline <= loop.time() or attempt >= policy.num_retries:
                    verdict = Verdict(kind="error", status=s.status_on_error, detail=repr(err))
                    return verdict, sent, None
                status, body, got = 504, b"", []
            except (OSError, ProtocolError) as err:
                status, body, got = None, repr(err).encode(), []
            if policy is not None and attempt < policy.num_retries and policy.retries_http(status):
                attempt += 1
                await asyncio.sleep(
                    self._rng.random() * policy.base_interval_ms * 2 ** (attempt - 1) / 1000.0
                )
                continue
            break
        if status is None:
            return Verdict(kind="error", status=s.status_on_error, detail=body.decode()), sent, None
        limit = s.async_response_buffer_limit
        if limit is not None and len(body) > limit:
            # Envoy's async client gives up on an answer over its buffer limit: an error.
            detail = f"auth answer of {len(body)} bytes over {limit}"
            return Verdict(kind="error", status=s.status_on_error, detail=detail), sent, None
        # Envoy's async client routes the call, so its router stamps this header too.
        got.append(("x-envoy-upstream-service-time", "0"))
        answer = {
            "status": status,
            "headers": [list(h) for h in got],
            "body": body.decode("utf-8", "replace"),
        }
        return read_auth_response(s, status, got, body), sent, answer
