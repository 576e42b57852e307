"""SimulatedEnvoy, gRPC mode: the CheckRequest it builds and how it applies CheckResponses
(research/envoy.md §2.3-2.7), against a scripted grpc.aio adapter and the echo upstream."""

from __future__ import annotations

import asyncio
import json
import random

import grpc
from envoy.config.core.v3 import base_pb2
from envoy.service.auth.v3 import external_auth_pb2

from common.clock import ManualClock
from simulator import (
    BufferSettings,
    ClientRequest,
    EnvoySettings,
    Route,
    SimulatedEnvoy,
    StringMatcher,
)
from tests.simulator.helpers import AUTHORITY, deny, error_response, hvo, ok, run, stack

HVO = base_pb2.HeaderValueOption


def get(authority: str = AUTHORITY, **kw) -> ClientRequest:
    kw.setdefault("path", "/orders?x=1")
    return ClientRequest(authority=authority, **kw)


def test_check_request_carries_envoy_fields():
    async def main() -> None:
        async with stack() as st:
            req = get(
                headers=[
                    ("Client_Id", "abc"),
                    ("X-Dup", "a"),
                    ("x-dup", "b"),
                    ("Cookie", "c=1"),
                    ("cookie", "d=2"),
                    ("X-Mixed", "V"),
                ],
                source_ip="10.1.2.3",
                source_port=40000,
            )
            resp = await st.envoy.handle(req)
            assert resp.status == 200 and resp.decision == "allowed"
            sent = st.adapter.checks[0]
            attrs = sent.attributes
            http = attrs.request.http
            assert http.headers["client_id"] == "abc"
            assert http.headers["x-dup"] == "a,b"
            assert http.headers["cookie"] == "c=1,d=2"
            assert http.headers["x-mixed"] == "V"
            assert http.headers[":authority"] == AUTHORITY
            assert http.headers[":path"] == "/orders?x=1"
            assert http.headers[":method"] == "GET"
            assert http.headers[":scheme"] == "http"
            assert http.headers["x-forwarded-proto"] == "http"
            rid = http.headers["x-request-id"]
            assert http.id.isdigit() and http.id != rid
            assert http.path == "/orders?x=1" and http.query == "" and http.fragment == ""
            assert http.host == AUTHORITY and http.method == "GET"
            assert http.protocol == "HTTP/1.1" and http.scheme == "http"
            assert (
                http.size == 0 and "size" not in resp.check_request["attributes"]["request"]["http"]
            )
            assert not any(k != k.lower() for k in http.headers)
            assert "host" not in http.headers
            assert attrs.source.address.socket_address.address == "10.1.2.3"
            assert attrs.source.address.socket_address.port_value == 40000
            assert attrs.destination.address.socket_address.port_value == 10000
            assert dict(attrs.context_extensions) == {"api_id": "10001", "service": "orders"}
            assert attrs.request.time.seconds > 1_700_000_000
            # the upstream saw the same x-request-id, and the dict form is JSON-able
            assert resp.upstream is not None and resp.upstream.header("x-request-id") == rid
            json.dumps(resp.check_request)
            json.dumps(resp.check_response)
            md = dict(st.adapter.grpc_metadata[0])
            assert md["x-envoy-expected-rq-timeout-ms"] == "2000"
            assert md["x-envoy-internal"] == "true"

    run(main())


def test_size_needs_buffering_and_client_request_id_is_kept():
    async def main() -> None:
        async with stack() as st:
            req = get(method="POST", body=b"hello", headers=[("x-request-id", "rid-1")])
            await st.envoy.handle(req)
            http = st.adapter.checks[0].attributes.request.http
            # Envoy reports size only for a buffered body (observed on Envoy 1.40)
            assert http.size == 0 and http.headers["content-length"] == "5"
            assert http.headers["x-request-id"] == "rid-1"
            assert http.body == ""  # no with_request_body

    run(main())


def test_request_time_and_ids_come_from_injected_clock_and_rng():
    async def main() -> None:
        async with stack() as st:
            clock = ManualClock(epoch=1_800_000_000.25)
            envoy = SimulatedEnvoy(
                st.envoy.settings, st.echo.url, st.envoy.routes, clock=clock, rng=random.Random(7)
            )
            await envoy.start()
            try:
                resp = await envoy.handle(get())
            finally:
                await envoy.close()
            assert resp.check_request is not None
            http = resp.check_request["attributes"]["request"]
            assert http["time"] == "2027-01-15T08:00:00.250Z"
            first_id = http["http"]["id"]
        async with stack() as st2:
            envoy = SimulatedEnvoy(
                st2.envoy.settings,
                st2.echo.url,
                st2.envoy.routes,
                clock=ManualClock(),
                rng=random.Random(7),
            )
            await envoy.start()
            try:
                again = await envoy.handle(get())
            finally:
                await envoy.close()
            assert again.check_request is not None
            assert again.check_request["attributes"]["request"]["http"]["id"] == first_id
            assert again.duration_s == 0.0

    run(main())


def test_empty_response_allows_and_upstream_answer_comes_back():
    async def main() -> None:
        async with stack() as st:
            st.adapter.grpc_answer = external_auth_pb2.CheckResponse()
            resp = await st.envoy.handle(get())
            assert resp.status == 200 and resp.decision == "allowed"
            echoed = json.loads(resp.body)
            assert echoed["path"] == "/orders?x=1"
            assert resp.header("server") == "envoy"
            assert resp.header("x-envoy-upstream-service-time") is not None
            assert resp.header("content-type") == "application/json"
            assert resp.check_response == {}
            assert len(st.echo.received) == 1

    run(main())


def test_ok_with_denied_response_still_allows():
    async def main() -> None:
        async with stack() as st:
            st.adapter.grpc_answer = deny(code=0, status=401, body="nope")
            resp = await st.envoy.handle(get())
            assert resp.status == 200 and resp.decision == "allowed"

    run(main())


def test_non_ok_without_denied_status_is_bare_403():
    async def main() -> None:
        async with stack() as st:
            for code in (7, 16, 14):
                st.adapter.grpc_answer = deny(code=code)
                resp = await st.envoy.handle(get())
                assert (resp.status, resp.body, resp.decision) == (403, b"", "denied")
                assert resp.header("content-length") == "0"
                assert resp.header("content-type") is None
                assert resp.upstream is None
            assert st.echo.received == []

    run(main())


def test_denied_response_status_headers_body():
    async def main() -> None:
        async with stack() as st:
            st.adapter.grpc_answer = deny(
                status=401,
                headers=[
                    hvo("www-authenticate", "Client-ID-Enforcement"),
                    hvo("content-type", "application/json"),
                ],
                body='{"error": "no client id"}',
            )
            resp = await st.envoy.handle(get())
            assert resp.status == 401 and resp.decision == "denied"
            assert resp.header("www-authenticate") == "Client-ID-Enforcement"
            assert resp.header("content-type") == "application/json"
            assert resp.body == b'{"error": "no client id"}'
            assert resp.header("content-length") == str(len(resp.body))
            st.adapter.grpc_answer = deny(code=8, status=429, body="slow down")
            resp = await st.envoy.handle(get())
            assert (resp.status, resp.body) == (429, b"slow down")
            assert resp.header("content-type") == "text/plain"
            st.adapter.grpc_answer = deny(code=7, body="no status")
            resp = await st.envoy.handle(get())
            assert (resp.status, resp.body) == (403, b"no status")

    run(main())


def test_error_response_is_an_error_with_its_own_reply():
    async def main() -> None:
        async with stack() as st:
            st.adapter.grpc_answer = error_response(
                status=503, headers=[hvo("x-why", "down")], body="adapter down"
            )
            resp = await st.envoy.handle(get())
            assert (resp.status, resp.decision, resp.body) == (503, "error", b"adapter down")
            assert resp.header("x-why") == "down"
            st.adapter.grpc_answer = error_response()
            resp = await st.envoy.handle(get())
            assert (resp.status, resp.decision) == (403, "error")

    run(main())


def test_request_header_mutations_follow_append_only():
    async def main() -> None:
        async with stack() as st:
            actions = HVO.HeaderAppendAction
            st.adapter.grpc_answer = ok(
                headers=[
                    hvo("x-current-user", "user1"),
                    hvo("x-existing", "appended", append=True),
                    hvo("x-new-append", "v", append=True),
                    hvo("x-overwrite", "new", action=actions.OVERWRITE_IF_EXISTS_OR_ADD),
                    hvo("x-add-if-absent", "ignored", action=actions.ADD_IF_ABSENT),
                    hvo("x-aie", "aie-added", action=actions.APPEND_IF_EXISTS_OR_ADD),
                    hvo("x-multi", "first", append=False),
                    hvo("x-multi", "second", append=True),
                ],
                headers_to_remove=["x-remove-me", "host", ":path", "authorization"],
            )
            resp = await st.envoy.handle(
                get(
                    headers=[
                        ("X-Existing", "orig"),
                        ("x-overwrite", "old"),
                        ("x-add-if-absent", "present"),
                        ("x-aie", "orig"),
                        ("x-remove-me", "secret"),
                        ("Authorization", "Bearer t"),
                    ]
                )
            )
            up = resp.upstream
            assert up is not None
            assert up.header("x-current-user") == "user1"
            assert up.header("x-existing") == "orig,appended"
            assert len([k for k, _ in up.headers if k == "x-existing"]) == 1
            assert up.header("x-new-append") is None
            assert up.header("x-overwrite") == "new"
            assert up.header("x-add-if-absent") == "ignored"
            assert up.header("x-aie") == "aie-added"
            assert up.header("x-multi") == "first,second"
            assert up.header("x-remove-me") is None and up.header("authorization") is None
            assert up.header("host") == AUTHORITY and up.path == "/orders?x=1"

    run(main())


def test_response_headers_to_add_honour_append_and_append_action():
    async def main() -> None:
        async with stack() as st:
            actions = HVO.HeaderAppendAction
            st.echo.answer(
                "/orders", 200, [("x-up", "u"), ("x-keep", "k"), ("set-cookie", "u=1")], b"hi"
            )
            st.adapter.grpc_answer = ok(
                response_headers_to_add=[
                    hvo("x-resp-added", "r1"),
                    hvo("set-cookie", "a=1", append=True),
                    hvo("x-up", "over", append=False),
                    hvo("x-keep", "no", action=actions.ADD_IF_ABSENT),
                    hvo("x-new-absent", "yes", action=actions.ADD_IF_ABSENT),
                    hvo("x-only-if", "no", action=actions.OVERWRITE_IF_EXISTS),
                    hvo("x-keep", "k2", action=actions.OVERWRITE_IF_EXISTS),
                ]
            )
            resp = await st.envoy.handle(get())
            assert resp.body == b"hi"
            assert resp.header("x-resp-added") == "r1"
            assert [v for k, v in resp.headers if k == "set-cookie"] == ["u=1", "a=1"]
            assert resp.header("x-up") == "over"
            assert resp.header("x-keep") == "k2"
            assert resp.header("x-new-absent") == "yes"
            assert resp.header("x-only-if") is None

    run(main())


def test_query_parameter_mutation():
    async def main() -> None:
        async with stack() as st:
            st.adapter.grpc_answer = ok(
                query_parameters_to_set=[
                    base_pb2.QueryParameter(key="qset", value="s1"),
                    base_pb2.QueryParameter(key="keep", value="over"),
                ],
                query_parameters_to_remove=["qdrop"],
            )
            resp = await st.envoy.handle(get(path="/api/orders?keep=1&qdrop=2&x=%20y"))
            assert resp.upstream is not None
            assert resp.upstream.path == "/api/orders?keep=over&qset=s1&x=%20y"

    run(main())


def test_rpc_errors_and_timeouts_use_status_on_error():
    async def main() -> None:
        async with stack(EnvoySettings(timeout_ms=100, status_on_error=503)) as st:
            st.adapter.abort = grpc.StatusCode.UNAVAILABLE
            resp = await st.envoy.handle(get())
            assert (resp.status, resp.body, resp.decision) == (503, b"", "error")
            st.adapter.abort = None
            st.adapter.delay_s = 0.3
            resp = await st.envoy.handle(get())
            assert (resp.status, resp.decision) == (503, "error")
            assert "DEADLINE_EXCEEDED" in resp.detail
            assert st.echo.received == []

    run(main())


def test_default_timeout_is_200ms():
    async def main() -> None:
        async with stack(EnvoySettings()) as st:
            st.adapter.delay_s = 0.02
            assert (await st.envoy.handle(get())).status == 200
            st.adapter.delay_s = 0.35
            resp = await st.envoy.handle(get())
            assert (resp.status, resp.decision) == (403, "error")

    run(main())


def test_unreachable_adapter_is_an_error():
    async def main() -> None:
        async with stack() as st:
            envoy = SimulatedEnvoy(EnvoySettings(authz_port=1), st.echo.url, [Route()])
            await envoy.start()
            try:
                resp = await envoy.handle(get())
            finally:
                await envoy.close()
            assert (resp.status, resp.decision) == (403, "error")

    run(main())


def test_failure_mode_allow_and_header_add():
    async def main() -> None:
        settings = EnvoySettings(failure_mode_allow=True, failure_mode_allow_header_add=True)
        async with stack(settings) as st:
            st.adapter.abort = grpc.StatusCode.INTERNAL
            resp = await st.envoy.handle(get())
            assert resp.status == 200 and resp.decision == "error" and resp.failure_mode_allowed
            assert resp.upstream is not None
            assert resp.upstream.header("x-envoy-auth-failure-mode-allowed") == "true"
            st.adapter.abort = None
            st.adapter.grpc_answer = error_response(status=503, body="x")
            resp = await st.envoy.handle(get())
            assert resp.status == 200 and resp.failure_mode_allowed
            st.adapter.grpc_answer = deny()
            assert (await st.envoy.handle(get())).status == 403  # a deny is not an error
        async with stack(EnvoySettings(failure_mode_allow=True)) as st:
            st.adapter.abort = grpc.StatusCode.INTERNAL
            resp = await st.envoy.handle(get())
            assert resp.status == 200
            assert resp.upstream is not None
            assert resp.upstream.header("x-envoy-auth-failure-mode-allowed") is None

    run(main())


def test_validate_mutations():
    async def main() -> None:
        async with stack(EnvoySettings(validate_mutations=True)) as st:
            st.adapter.grpc_answer = ok(headers=[hvo("bad header", "v")])
            resp = await st.envoy.handle(get())
            assert (resp.status, resp.decision) == (500, "error")
            assert st.echo.received == []
            st.adapter.grpc_answer = error_response(
                status=503, headers=[hvo("x-ok", "a\nb")], body="b"
            )
            resp = await st.envoy.handle(get())
            assert (resp.status, resp.body, resp.header("x-ok")) == (403, b"", None)
        async with stack() as st:
            st.adapter.grpc_answer = ok(headers=[hvo("x-fine", "v")])
            assert (await st.envoy.handle(get())).status == 200

    run(main())


def test_request_body_buffering():
    async def main() -> None:
        async with stack(EnvoySettings(with_request_body=BufferSettings(16))) as st:
            resp = await st.envoy.handle(get(method="POST", body=b"x" * 32))
            assert (resp.status, resp.body) == (413, b"Payload Too Large")
            assert resp.header("content-type") == "text/plain"
            assert st.adapter.checks == [] and resp.decision == "skipped"
            client_flag = [("x-envoy-auth-partial-body", "client")]
            await st.envoy.handle(get(method="POST", body=b"small", headers=client_flag))
            http = st.adapter.checks[-1].attributes.request.http
            assert http.body == "small" and http.size == 5
            assert http.headers["x-envoy-auth-partial-body"] == "false"
            await st.envoy.handle(get())
            last = st.adapter.checks[-1].attributes.request.http
            assert "x-envoy-auth-partial-body" not in last.headers
        partial = EnvoySettings(with_request_body=BufferSettings(16, allow_partial_message=True))
        async with stack(partial) as st:
            resp = await st.envoy.handle(get(method="POST", body=b"0123456789abcdefXYZ"))
            http = st.adapter.checks[-1].attributes.request.http
            assert http.body == "0123456789abcdef" and http.size == 19
            assert http.headers["x-envoy-auth-partial-body"] == "true"
            assert resp.upstream is not None and resp.upstream.body == b"0123456789abcdefXYZ"
            await st.envoy.handle(get(method="POST", body=b"caf\xe9\xff"))
            assert st.adapter.checks[-1].attributes.request.http.body == "caf!!"
        packed = EnvoySettings(with_request_body=BufferSettings(64, pack_as_bytes=True))
        async with stack(packed) as st:
            await st.envoy.handle(get(method="POST", body=b"\x00\x01\xffABC"))
            http = st.adapter.checks[-1].attributes.request.http
            assert http.raw_body == b"\x00\x01\xffABC" and http.body == ""

    run(main())


def test_allowed_and_disallowed_headers_in_grpc_mode():
    async def main() -> None:
        settings = EnvoySettings(
            allowed_headers=(StringMatcher(exact="client_id"), StringMatcher(prefix="x-lab-")),
            disallowed_headers=(StringMatcher(exact="x-lab-secret"),),
        )
        async with stack(settings) as st:
            headers = [("client_id", "a"), ("x-lab-1", "b"), ("x-lab-secret", "s"), ("o", "o")]
            await st.envoy.handle(get(headers=headers))
            http = st.adapter.checks[-1].attributes.request.http
            assert dict(http.headers) == {"client_id": "a", "x-lab-1": "b"}
            assert http.path == "/orders?x=1" and http.method == "GET" and http.host == AUTHORITY

    run(main())


def test_routes_disabled_missing_and_http10():
    async def main() -> None:
        routes = [
            Route(authority=AUTHORITY, prefix="/static", disabled=True),
            Route(authority=AUTHORITY, context_extensions={"api_id": "1"}),
        ]
        async with stack(routes=routes) as st:
            resp = await st.envoy.handle(get(path="/static/a.css"))
            assert (resp.status, resp.decision) == (200, "skipped")
            assert st.adapter.checks == [] and resp.check_request is None
            resp = await st.envoy.handle(get(authority="unknown.example"))
            assert (resp.status, resp.decision) == (404, "skipped")
            resp = await st.envoy.handle(get(protocol="HTTP/1.0"))
            assert (resp.status, resp.body) == (426, b"Upgrade Required")
            assert st.adapter.checks == []
            resp = await st.envoy.handle(get())
            assert resp.decision == "allowed"
            assert dict(st.adapter.checks[0].attributes.context_extensions) == {"api_id": "1"}

    run(main())


def test_upstream_failure_is_503():
    async def main() -> None:
        async with stack() as st:
            settings = EnvoySettings(authz_port=st.adapter.grpc_port)
            envoy = SimulatedEnvoy(settings, "http://127.0.0.1:1", [Route()])
            await envoy.start()
            try:
                resp = await envoy.handle(get())
            finally:
                await envoy.close()
            assert resp.status == 503 and resp.decision == "allowed" and resp.upstream is None

    run(main())


def test_concurrent_requests_are_independent():
    async def main() -> None:
        async with stack() as st:
            st.adapter.grpc_answer = lambda req: (
                ok() if req.attributes.request.http.headers.get("client_id") else deny()
            )
            reqs = [get(headers=[("client_id", "a")] if i % 2 else []) for i in range(40)]
            out = await asyncio.gather(*(st.envoy.handle(r) for r in reqs))
            assert [r.status for r in out] == [200 if i % 2 else 403 for i in range(40)]
            assert len(st.echo.received) == 20

    run(main())


def test_check_response_dict_uses_proto_field_names():
    async def main() -> None:
        async with stack() as st:
            st.adapter.grpc_answer = ok(headers=[hvo("x-a", "1")])
            resp = await st.envoy.handle(get())
            assert resp.check_response == {
                "status": {},
                "ok_response": {"headers": [{"header": {"key": "x-a", "value": "1"}}]},
            }
            st.adapter.grpc_answer = deny(code=16)
            resp = await st.envoy.handle(get())
            assert resp.check_response == {"status": {"code": 16}}

    run(main())


def test_append_in_local_replies_deny_drops_error_adds() -> None:
    """Observed on Envoy 1.40: a deny drops `append: true` headers; an error reply adds them."""

    async def main() -> None:
        async with stack() as st:
            st.adapter.grpc_answer = deny(7, 403, [hvo("x-d", "1"), hvo("x-d", "2", append=True)])
            resp = await st.envoy.handle(get())
            assert [v for k, v in resp.headers if k == "x-d"] == ["1"]
            st.adapter.grpc_answer = error_response(
                13, 503, [hvo("x-e", "1"), hvo("x-e", "2", append=True)]
            )
            resp = await st.envoy.handle(get())
            assert [v for k, v in resp.headers if k == "x-e"] == ["1", "2"]

    run(main())


def test_stats_count_like_envoy() -> None:
    async def main() -> None:
        routes = [Route(authority=AUTHORITY, prefix="/static", disabled=True), Route(AUTHORITY)]
        async with stack(EnvoySettings(failure_mode_allow=True), routes=routes) as st:
            await st.envoy.handle(get())
            st.adapter.grpc_answer = deny()
            await st.envoy.handle(get())
            st.adapter.grpc_answer = error_response()
            await st.envoy.handle(get())
            await st.envoy.handle(get(path="/static/x"))
            assert dict(st.envoy.stats) == {
                "ok": 1,
                "denied": 1,
                "error": 1,
                "failure_mode_allowed": 1,
                "disabled": 1,
            }

    run(main())


def test_client_forwarded_proto_sets_scheme() -> None:
    async def main() -> None:
        async with stack() as st:
            await st.envoy.handle(get(headers=[("X-Forwarded-Proto", "https")]))
            http = st.adapter.checks[0].attributes.request.http
            assert (http.scheme, http.headers[":scheme"]) == ("https", "https")
            assert http.headers["x-forwarded-proto"] == "https"

    run(main())


def test_encode_raw_headers_and_deny_body_limit() -> None:
    async def main() -> None:
        settings = EnvoySettings(encode_raw_headers=True, max_denied_response_body_bytes=4)
        async with stack(settings) as st:
            st.adapter.grpc_answer = deny(7, 403, body="0123456789")
            resp = await st.envoy.handle(get(headers=[("x-dup", "a"), ("X-Dup", "b")]))
            assert (resp.status, resp.body, resp.header("content-length")) == (403, b"0123", "4")
            http = st.adapter.checks[0].attributes.request.http
            assert dict(http.headers) == {}
            lines = [(h.key, h.raw_value) for h in http.header_map.headers if h.key == "x-dup"]
            assert lines == [("x-dup", b"a"), ("x-dup", b"b")]

    run(main())


def test_virtual_host_first_then_route() -> None:
    async def main() -> None:
        routes = [
            Route(authority=AUTHORITY, prefix="/static", disabled=True),
            Route(authority="*", context_extensions={"api_id": "wild"}),
        ]
        async with stack(routes=routes) as st:
            resp = await st.envoy.handle(get(path="/orders"))  # AUTHORITY's vhost: no match
            assert (resp.status, resp.decision) == (404, "skipped")
            resp = await st.envoy.handle(get(authority="other.example", path="/orders"))
            assert resp.decision == "allowed"
            assert dict(st.adapter.checks[0].attributes.context_extensions) == {"api_id": "wild"}

    run(main())
