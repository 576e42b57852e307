"""SimulatedEnvoy, HTTP service mode (research/envoy.md §3): the auth request and how the
auth server's answer is applied."""

from __future__ import annotations

from dataclasses import replace

from simulator import (
    ASM_API_ID_HEADER,
    BufferSettings,
    ClientRequest,
    EnvoySettings,
    HeaderToAdd,
    HttpAnswer,
    HttpServiceSettings,
    StringMatcher,
)
from tests.simulator.helpers import AUTHORITY, run, stack

HTTP = EnvoySettings(transport="http", timeout_ms=2000)


def m(*names: str) -> tuple[StringMatcher, ...]:
    return tuple(StringMatcher(exact=n) for n in names)


def get(**kw) -> ClientRequest:
    kw.setdefault("path", "/api/orders?x=1")
    return ClientRequest(authority=AUTHORITY, **kw)


def test_auth_request_defaults() -> None:
    async def main() -> None:
        async with stack(HTTP) as st:
            resp = await st.envoy.handle(
                get(
                    method="POST",
                    body=b"data",
                    headers=[
                        ("Authorization", "Bearer t"),
                        ("user-agent", "curl"),
                        ("cookie", "c=1"),
                        ("client_id", "abc"),
                    ],
                )
            )
            assert resp.status == 200 and resp.decision == "allowed"
            rec = st.adapter.http_requests[0]
            assert (rec.method, rec.path, rec.body) == ("POST", "/api/orders?x=1", b"")
            assert {k.lower(): v for k, v in rec.headers} == {
                "host": AUTHORITY,
                "authorization": "Bearer t",
                "content-length": "0",
                "x-envoy-internal": "true",
                "x-envoy-expected-rq-timeout-ms": "2000",
            }
            assert resp.check_request is not None and resp.check_request["method"] == "POST"
            assert resp.check_response is not None and resp.check_response["status"] == 200

    run(main())


def test_prefix_allowed_headers_and_headers_to_add() -> None:
    settings = replace(
        HTTP,
        allowed_headers=m("client_id"),
        disallowed_headers=m("authorization"),
        http_service=HttpServiceSettings(
            path_prefix="/authz", headers_to_add=(HeaderToAdd("x-asm-api-id", "10001"),)
        ),
    )

    async def main() -> None:
        async with stack(settings) as st:
            await st.envoy.handle(
                get(
                    headers=[
                        ("client_id", "a"),
                        ("client_id", "b"),
                        ("authorization", "x"),
                        ("x-asm-api-id", "spoofed"),
                    ]
                )
            )
            rec = st.adapter.http_requests[0]
            got = {k.lower(): v for k, v in rec.headers}
            assert rec.path == "/authz/api/orders?x=1"
            assert got["client_id"] == "a,b"
            assert got["x-asm-api-id"] == "10001"
            assert "authorization" not in got

    run(main())


def test_200_applies_upstream_and_client_headers() -> None:
    settings = replace(
        HTTP,
        http_service=HttpServiceSettings(
            allowed_upstream_headers=m("x-current-user", "x-existing"),
            allowed_upstream_headers_to_append=m("x-append-me"),
            allowed_client_headers_on_success=m("x-resp-ok"),
        ),
    )

    async def main() -> None:
        async with stack(settings) as st:
            st.adapter.http_answer = HttpAnswer(
                200,
                [
                    ("x-current-user", "u1"),
                    ("x-existing", "from-authz"),
                    ("x-append-me", "app"),
                    ("x-envoy-auth-headers-to-remove", "x-rm, x-rm2"),
                    ("x-resp-ok", "yes"),
                    ("x-not-listed", "no"),
                ],
                b"discarded",
            )
            resp = await st.envoy.handle(
                get(
                    headers=[
                        ("x-existing", "orig"),
                        ("x-append-me", "orig"),
                        ("x-rm", "1"),
                        ("x-rm2", "2"),
                    ]
                )
            )
            up = resp.upstream
            assert up is not None
            assert up.header("x-current-user") == "u1"
            assert up.header("x-existing") == "from-authz"
            assert [v for k, v in up.headers if k == "x-append-me"] == ["orig", "app"]
            assert up.header("x-rm") is None and up.header("x-rm2") is None
            assert up.header("x-envoy-auth-headers-to-remove") is None
            assert up.header("x-not-listed") is None
            assert resp.header("x-resp-ok") == "yes"
            assert b"discarded" not in resp.body

    run(main())


def test_deny_passes_status_body_and_headers() -> None:
    async def main() -> None:
        async with stack(HTTP) as st:
            st.adapter.http_answer = HttpAnswer(
                403,
                [("x-deny-reason", "r"), ("content-type", "text/plain; charset=utf-8")],
                b"forbidden",
            )
            resp = await st.envoy.handle(get())
            assert (resp.status, resp.body, resp.decision) == (403, b"forbidden", "denied")
            assert resp.header("x-deny-reason") == "r"
            assert resp.header("content-type") == "text/plain; charset=utf-8"
            assert st.echo.received == []
        limited = replace(HTTP, http_service=HttpServiceSettings(allowed_client_headers=m("x-r")))
        async with stack(limited) as st:
            st.adapter.http_answer = HttpAnswer(
                401, [("x-r", "1"), ("x-other", "o"), ("www-authenticate", "Basic")], b"{}"
            )
            resp = await st.envoy.handle(get())
            assert resp.status == 401
            assert resp.header("x-r") == "1" and resp.header("www-authenticate") == "Basic"
            assert resp.header("x-other") is None
            assert resp.header("content-type") == "text/plain"

    run(main())


def test_5xx_timeout_and_fail_open() -> None:
    async def main() -> None:
        async with stack(replace(HTTP, status_on_error=503, timeout_ms=100)) as st:
            st.adapter.http_answer = HttpAnswer(500, [], b"boom")
            resp = await st.envoy.handle(get())
            assert (resp.status, resp.body, resp.decision) == (503, b"", "error")
            st.adapter.http_answer = HttpAnswer(200, delay_s=0.3)
            resp = await st.envoy.handle(get())
            assert (resp.status, resp.decision) == (503, "error")
        fail_open = replace(HTTP, failure_mode_allow=True, failure_mode_allow_header_add=True)
        async with stack(fail_open) as st:
            st.adapter.http_answer = HttpAnswer(502)
            resp = await st.envoy.handle(get())
            assert resp.status == 200 and resp.failure_mode_allowed
            assert resp.upstream is not None
            assert resp.upstream.header("x-envoy-auth-failure-mode-allowed") == "true"

    run(main())


def test_body_buffering_in_http_mode() -> None:
    async def main() -> None:
        partial = replace(HTTP, with_request_body=BufferSettings(8, allow_partial_message=True))
        async with stack(partial) as st:
            await st.envoy.handle(get(method="POST", body=b"caf\xe9\xff0123456789"))
            rec = st.adapter.http_requests[0]
            got = {k.lower(): v for k, v in rec.headers}
            assert rec.body == b"caf\xe9\xff012"
            assert got["content-length"] == "8" and got["x-envoy-auth-partial-body"] == "true"
        async with stack(replace(HTTP, with_request_body=BufferSettings(8))) as st:
            resp = await st.envoy.handle(get(method="POST", body=b"y" * 9))
            assert resp.status == 413 and st.adapter.http_requests == []

    run(main())


def test_headers_to_add_formats_route_metadata_and_request_headers() -> None:
    settings = replace(
        HTTP,
        http_service=HttpServiceSettings(
            headers_to_add=(
                ASM_API_ID_HEADER,
                HeaderToAdd("x-who", "%REQ(client_id)%/%REQ(:authority)%"),
                HeaderToAdd("x-none", "[%REQ(x-absent)%%METADATA(ROUTE:other:api_id)%]"),
            )
        ),
    )

    async def main() -> None:
        async with stack(settings) as st:
            await st.envoy.handle(get(headers=[("client_id", "abc")]))
            got = {k.lower(): v for k, v in st.adapter.http_requests[0].headers}
            assert got["x-asm-api-id"] == "10001"
            assert got["x-who"] == f"abc/{AUTHORITY}"
            assert got["x-none"] == "[]"

    run(main())
