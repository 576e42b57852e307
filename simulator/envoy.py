"""The simulated Envoy: route a client request, run ext_authz exactly as Envoy 1.40 does
(gRPC or HTTP service), apply the verdict, forward to the upstream with the kit's HTTP/1.1
client (`simulator.http1`).
"""

from __future__ import annotations

import random
import ssl
from collections import Counter
from typing import Any, Protocol
from urllib.parse import urlsplit

from common.clock import Clock, MonotonicClock
from simulator import headers as hdr
from simulator.downstream import HOP_BY_HOP, Downstream, HeaderOp, Verdict, normalize
from simulator.echo import EchoUpstream
from simulator.envoy_config import EXT_AUTHZ
from simulator.features import apply_mutation_rules, dynamic_metadata, format_dynamic_metadata
from simulator.grpc_check import BufferedBody, GrpcAuthz
from simulator.http1 import Http1Client, ProtocolError
from simulator.listener import Listener
from simulator.model import (
    ClientRequest,
    ClientResponse,
    Decision,
    Headers,
    Route,
    select_route,
)
from simulator.replies import apply_ops, local_reply
from simulator.settings import EnvoySettings

FAILURE_MODE_HEADER = "x-envoy-auth-failure-mode-allowed"
UPSTREAM_CONNECTIONS = 256


class Authz(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def run(
        self, route: Route, down: Downstream, buffered: BufferedBody | None
    ) -> tuple[Verdict, dict[str, Any] | None, dict[str, Any] | None]: ...


class SimulatedEnvoy:
    """An in-process Envoy with one ext_authz filter, a route table and one upstream."""

    def __init__(
        self,
        settings: EnvoySettings,
        upstream_url: str,
        routes: list[Route] | None = None,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        echo: EchoUpstream | None = None,
        record_checks: bool = True,
        grpc_client: str | None = None,
    ) -> None:
        """`record_checks=False` leaves `check_request`/`check_response` None (faster);
        ``grpc_client`` is the gRPC ext_authz client: "grpcio" (grpc.aio) or "asmkit" (the
        kit's own HTTP/2 client: the same verdicts for under half the CPU per check); by
        default grpc.aio, and the kit's own client for load runs (``record_checks=False``)."""
        if not upstream_url.startswith(("http://", "https://")):
            raise ValueError(
                f"SimulatedEnvoy upstream_url={upstream_url!r} is not valid: "
                "give an http:// URL such as echo.url"
            )
        self.settings = settings
        self.upstream_url = upstream_url.rstrip("/")
        self.routes = list(routes) if routes is not None else [Route()]
        self._clock: Clock = clock or MonotonicClock()
        self._rng = rng or random.Random(0)
        self._echo = echo
        self._record_checks = record_checks
        self._grpc_client = grpc_client or ("grpcio" if record_checks else "asmkit")
        self._upstream: Http1Client | None = None
        self._upstream_base = ""
        self._authz: Authz = self._make_authz()
        self._listener: Listener | None = None
        # Envoy's ext_authz stats (http.<prefix>.ext_authz.*), by their last name segment.
        self.stats: Counter[str] = Counter()

    def _make_authz(self) -> Authz:
        if self.settings.transport == "http":
            from simulator.http_check import HttpAuthz

            authz: Authz = HttpAuthz(self.settings, rng=self._rng)
            return authz
        return GrpcAuthz(
            self.settings, record=self._record_checks, rng=self._rng, client=self._grpc_client
        )

    async def start(self) -> None:
        if self._upstream is None:
            url = urlsplit(self.upstream_url)
            tls = url.scheme == "https"
            self._upstream_base = url.path
            self._upstream = Http1Client(
                url.hostname or "127.0.0.1",
                url.port or (443 if tls else 80),
                limit=UPSTREAM_CONNECTIONS,
                ssl=ssl.create_default_context() if tls else None,
                timeout=self.settings.route_timeout_ms / 1000.0,
            )
        await self._authz.start()

    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Also listen for real HTTP clients (curl) on host:port; returns the bound port."""
        if self._listener is None:
            self._listener = Listener(self, host, port)
            await self._listener.start()
        return self._listener.port

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None
        await self._authz.close()
        if self._upstream is not None:
            await self._upstream.close()
            self._upstream = None

    async def __aenter__(self) -> SimulatedEnvoy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def route_for(self, authority: str, path: str, headers: Headers | None = None) -> Route | None:
        return select_route(self.routes, authority, path, headers)

    async def handle(self, request: ClientRequest) -> ClientResponse:
        t0 = self._clock.now()
        resp = await self._handle(request)
        resp.duration_s = self._clock.now() - t0
        return resp

    async def _handle(self, request: ClientRequest) -> ClientResponse:
        """Envoy's request path, in Envoy's order: TLS check, HTTP/1.0, normalisation, route,
        filter_enabled, body buffering, the check, mutation rules, the decision. Long on purpose:
        the order is the fidelity."""
        s = self.settings
        if (
            s.listener_tls is not None
            and s.listener_tls.require_client_certificate
            and not request.client_cert_pem
        ):
            raise ConnectionError(
                "the TLS listener requires a client certificate: set "
                "ClientRequest.client_cert_pem (e.g. make_test_pki().client_cert_pem)"
            )
        if request.protocol == "HTTP/1.0":
            return self._local(
                426,
                [("set", "connection", "close")],
                b"Upgrade Required",
                "skipped",
                detail="HTTP/1.0 rejected",
            )
        down = normalize(
            request,
            self._rng,
            self._clock.wall(),
            s.listener_host,
            s.listener_port,
            tls=s.listener_tls is not None,
            use_remote_address=s.use_remote_address,
        )
        down.dynamic_metadata = dynamic_metadata(s.header_to_metadata, down.headers)
        route = self.route_for(down.authority, down.path, down.headers)
        if route is None:
            return self._local(404, [], b"", "skipped", detail="no route", down=down)
        if route.disabled:
            self.stats["disabled"] += 1
            return await self._forward(down, route, Verdict(kind="ok"), "skipped")
        if not self._filter_enabled(down):
            self.stats["disabled"] += 1
            if s.deny_at_disable:
                detail = "ext_authz disabled: deny_at_disable"
                return self._local(s.status_on_error, [], b"", "skipped", detail, down=down)
            return await self._forward(down, route, Verdict(kind="ok"), "skipped")
        buffered: BufferedBody | None = None
        buf = s.with_request_body
        if buf is not None and down.body:
            if len(down.body) > buf.max_request_bytes:
                if not buf.allow_partial_message:
                    return self._local(
                        413,
                        [("set", "content-type", "text/plain"), ("set", "connection", "close")],
                        b"Payload Too Large",
                        "skipped",
                        detail="request body over max_request_bytes",
                        down=down,
                    )
                buffered = BufferedBody(down.body[: buf.max_request_bytes], True)
            else:
                buffered = BufferedBody(down.body, False)
        asked = self._clock.now()
        verdict, check_request, check_response = await self._authz.run(route, down, buffered)
        check_s = self._clock.now() - asked
        if verdict.dynamic_metadata:
            down.dynamic_metadata[EXT_AUTHZ] = dict(verdict.dynamic_metadata)
        rules = s.decoder_header_mutation_rules
        if verdict.kind == "ok" and rules is not None and not apply_mutation_rules(rules, verdict):
            verdict.invalid = True
        self._count(verdict)
        resp = await self._decide(down, route, verdict)
        resp.check_request = check_request
        resp.check_response = check_response
        resp.check_s = check_s
        return resp

    def _count(self, verdict: Verdict) -> None:
        """Envoy's ext_authz counters: ok, denied, error, failure_mode_allowed, invalid."""
        if verdict.kind == "ok":
            self.stats["invalid" if verdict.invalid else "ok"] += 1
            return
        self.stats[verdict.kind] += 1
        if verdict.kind == "error" and self.settings.failure_mode_allow:
            self.stats["failure_mode_allowed"] += 1

    def _filter_enabled(self, down: Downstream) -> bool:
        """`filter_enabled` (a runtime fraction) and `filter_enabled_metadata` both hold."""
        s = self.settings
        if s.filter_enabled < 100 and (
            s.filter_enabled == 0 or self._rng.randrange(100) >= s.filter_enabled
        ):
            return False
        matcher = s.filter_enabled_metadata
        return matcher is None or matcher.matches(down.dynamic_metadata)

    async def _decide(self, down: Downstream, route: Route, verdict: Verdict) -> ClientResponse:
        s = self.settings
        if verdict.kind == "ok":
            if verdict.invalid:
                return self._local(500, [], b"", "error", detail="invalid mutation", down=down)
            return await self._forward(down, route, verdict, "allowed")
        if verdict.kind == "error" and s.failure_mode_allow:
            ok = Verdict(kind="ok")
            if s.failure_mode_allow_header_add:
                ok.upstream_set.append((FAILURE_MODE_HEADER, "true"))
            resp = await self._forward(down, route, ok, "error")
            resp.failure_mode_allowed = True
            resp.detail = verdict.detail
            return resp
        decision: Decision = "denied" if verdict.kind == "denied" else "error"
        body = verdict.body
        limit = s.max_denied_response_body_bytes
        if verdict.kind == "denied" and limit and len(body) > limit:
            body = body[:limit]
        return self._local(
            verdict.status, verdict.local_headers, body, decision, verdict.detail, down=down
        )

    def _local(
        self,
        status: int,
        ops: list[HeaderOp],
        body: bytes,
        decision: Decision,
        detail: str = "",
        *,
        down: Downstream | None = None,
    ) -> ClientResponse:
        """An Envoy local reply (see simulator.replies), through `local_reply_config`."""
        return local_reply(
            status,
            ops,
            body,
            decision,
            wall=self._clock.wall(),
            detail=detail,
            config=self.settings.local_reply_config,
            request=(down.pseudo() + down.headers) if down is not None else None,
        )

    def upstream_headers(self, down: Downstream, verdict: Verdict) -> Headers:
        """The request headers Envoy forwards after applying an OK verdict."""
        headers = [("host", down.authority), *down.headers]
        for key, value in verdict.upstream_set:
            headers = hdr.set_header(headers, key, value)
        for key, value in verdict.upstream_add:
            headers = hdr.add(headers, key, value)
        for key, value in verdict.upstream_append:
            headers = hdr.append_existing(headers, key, value)
        for key in verdict.upstream_remove:
            if hdr.is_removable(key):
                headers = hdr.remove(headers, key)
        headers = hdr.set_header(
            headers, "x-envoy-expected-rq-timeout-ms", str(self.settings.route_timeout_ms)
        )
        return headers

    def _reroute(self, route: Route, headers: Headers, path: str, verdict: Verdict) -> Route | None:
        """`clear_route_cache`: after an OK that set, appended or removed request headers or
        changed the query, Envoy picks the route again from the mutated request."""
        changed = (
            verdict.upstream_set
            or verdict.upstream_append
            or verdict.upstream_remove
            or verdict.query_set
            or verdict.query_remove
        )
        if not (self.settings.clear_route_cache and changed):
            return route
        authority = hdr.header_or_none(headers, "host") or ""
        return self.route_for(authority, path, [kv for kv in headers if kv[0] != "host"])

    def _route_reply(
        self, route: Route, down: Downstream, path: str, verdict: Verdict, decision: Decision
    ) -> ClientResponse | None:
        """The router's own answer for direct-response and redirect routes (else None)."""
        if route.direct_response is not None:
            status, body = route.direct_response.status, route.direct_response.body.encode()
            resp = self._local(status, [], body, decision, "direct response", down=down)
        elif route.path_redirect is not None:
            query = path.partition("?")[2]
            target = route.path_redirect + (
                f"?{query}" if query and "?" not in route.path_redirect else ""
            )
            location = f"{down.scheme}://{down.authority}{target}"
            resp = self._local(
                301, [("set", "location", location)], b"", decision, "redirect", down=down
            )
        else:
            return None
        resp.headers = apply_ops(resp.headers, verdict.response_ops)
        return resp

    async def _forward(
        self, down: Downstream, route: Route, verdict: Verdict, decision: Decision
    ) -> ClientResponse:
        upstream = self._upstream
        if upstream is None:
            raise RuntimeError("SimulatedEnvoy is not started: await envoy.start() first")
        headers = self.upstream_headers(down, verdict)
        path = hdr.mutate_query(down.path, verdict.query_set, verdict.query_remove)
        # Only an OK answer clears the route cache (not fail-open or a disabled check).
        picked = self._reroute(route, headers, path, verdict) if decision == "allowed" else route
        if picked is None:
            return self._local(
                404, [], b"", decision, "no route after clear_route_cache", down=down
            )
        routed = self._route_reply(picked, down, path, verdict, decision)
        if routed is not None:
            return routed
        for key, template in picked.request_headers_to_add:
            value = format_dynamic_metadata(template, down.dynamic_metadata)
            if value:
                headers = hdr.set_header(headers, key, value)
        t_up = self._clock.now()
        try:
            up = await upstream.request(down.method, self._upstream_base + path, headers, down.body)
            body, status, up_headers = up.body, up.status, up.headers
        except (OSError, ProtocolError, TimeoutError) as err:
            resp = self._local(
                503,
                [],
                b"upstream connect error or disconnect/reset before headers. "
                b"reset reason: connection failure",
                decision,
                detail=f"upstream: {err!r}",
            )
            resp.upstream = self._find_upstream(down.request_id)
            return resp
        elapsed_ms = int((self._clock.now() - t_up) * 1000)
        out = [(k, v) for k, v in up_headers if k not in HOP_BY_HOP]
        out = hdr.set_header(out, "server", "envoy")
        out = hdr.set_header(out, "x-envoy-upstream-service-time", str(elapsed_ms))
        out = apply_ops(out, verdict.response_ops)
        return ClientResponse(
            status=status,
            headers=out,
            body=body,
            decision=decision,
            upstream=self._find_upstream(down.request_id),
            detail=verdict.detail,
        )

    def _find_upstream(self, request_id: str) -> Any:
        echo = self._echo or EchoUpstream.running_at(self.upstream_url)
        return echo.find(request_id) if echo is not None else None
