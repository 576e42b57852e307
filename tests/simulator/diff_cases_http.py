"""Differential cases, HTTP service mode (research/envoy.md §3 and §6), plus edge cases of
both modes found while comparing with Envoy 1.40."""

from __future__ import annotations

from dataclasses import replace

from envoy.config.core.v3 import base_pb2

from simulator import (
    BufferSettings,
    EnvoySettings,
    HeaderToAdd,
    HttpAnswer,
    HttpServiceSettings,
)
from simulator.tls import make_test_pki
from tests.simulator.diff_model import GRPC, HTTP, Case, m, req
from tests.simulator.helpers import AUTHORITY, deny, hvo, ok

PKI = make_test_pki(AUTHORITY)


def http_and_edge_cases() -> list[Case]:
    big = BufferSettings(16)
    partial = BufferSettings(16, allow_partial_message=True)
    out: list[Case] = []
    http_full = replace(
        HTTP,
        http_service=HttpServiceSettings(
            path_prefix="/authz",
            headers_to_add=(HeaderToAdd("x-asm-api-id", "10001"),),
            allowed_upstream_headers=m("x-current-user", "x-existing"),
            allowed_upstream_headers_to_append=m("x-append-me", "x-append-bat"),
            allowed_client_headers_on_success=m("x-resp-ok"),
        ),
        allowed_headers=m("client_id", "x-forwarded-for"),
    )
    deny_listed = replace(
        HTTP, http_service=HttpServiceSettings(allowed_client_headers=m("x-deny-reason"))
    )
    out += [
        # ---- HTTP service mode ----
        Case(
            "HTTP: default header allow-list, original method, no body",
            HTTP,
            req(
                "POST",
                body=b"data",
                headers=[
                    ("Authorization", "Bearer t"),
                    ("user-agent", "curl"),
                    ("cookie", "c=1"),
                    ("client_id", "abc"),
                    ("content-type", "text/plain"),
                ],
            ),
            http_answer=HttpAnswer(200),
            source="§3.1",
        ),
        Case(
            "HTTP: prefix + path, allowed_headers, headers_to_add, x-forwarded-for",
            http_full,
            req(
                headers=[
                    ("client_id", "a"),
                    ("client_id", "b"),
                    ("x-forwarded-for", "1.2.3.4"),
                    ("x-asm-api-id", "spoofed"),
                ]
            ),
            http_answer=HttpAnswer(200),
            source="§3.1, §6.12",
        ),
        Case(
            "HTTP: 200 applies upstream headers, append, headers-to-remove, client on success",
            http_full,
            req(
                headers=[
                    ("x-existing", "orig"),
                    ("x-append-me", "orig"),
                    ("x-rm", "1"),
                    ("x-rm2", "2"),
                ]
            ),
            http_answer=HttpAnswer(
                200,
                [
                    ("x-current-user", "u1"),
                    ("x-existing", "from-authz"),
                    ("x-append-me", "app"),
                    ("x-append-bat", "b1"),
                    ("x-envoy-auth-headers-to-remove", "x-rm, x-rm2"),
                    ("x-resp-ok", "yes"),
                    ("x-not-listed", "no"),
                ],
                b"discarded",
            ),
            source="§3.2, §6.22",
        ),
        Case(
            "HTTP: 200 without allowed_upstream_headers copies nothing",
            HTTP,
            req(),
            http_answer=HttpAnswer(200, [("x-current-user", "u1")]),
            source="§3.2",
        ),
        Case(
            "HTTP: deny passes status, body and all headers but Host",
            HTTP,
            req(),
            http_answer=HttpAnswer(
                403,
                [
                    ("x-deny-reason", "r"),
                    ("x-other", "o"),
                    ("content-type", "text/plain; charset=utf-8"),
                ],
                b"forbidden",
            ),
            expect_status=403,
            expect_decision="denied",
            source="§3.2",
        ),
        Case(
            "HTTP: allowed_client_headers limits deny headers",
            deny_listed,
            req(),
            http_answer=HttpAnswer(
                403,
                [("x-deny-reason", "r"), ("x-other", "o"), ("content-type", "application/json")],
                b'{"e":1}',
            ),
            expect_status=403,
            expect_decision="denied",
            source="§3.2",
        ),
        Case(
            "HTTP: 302 + location passes",
            deny_listed,
            req(),
            http_answer=HttpAnswer(302, [("location", "/login"), ("x-deny-reason", "r")]),
            expect_status=302,
            expect_decision="denied",
            source="§3.2",
        ),
        Case(
            "HTTP: 401 + www-authenticate passes",
            deny_listed,
            req(),
            http_answer=HttpAnswer(401, [("www-authenticate", 'Basic realm="mule-realm"')]),
            expect_status=401,
            expect_decision="denied",
            source="§3.2",
        ),
        Case(
            "HTTP: 5xx is an error (status_on_error)",
            HTTP,
            req(),
            http_answer=HttpAnswer(500, [("x-a", "1")], b"boom"),
            expect_status=403,
            expect_decision="error",
            source="§3.2",
        ),
        Case(
            "error with status_on_error 503",
            replace(HTTP, status_on_error=503),
            req(),
            http_answer=HttpAnswer(503),
            expect_status=503,
            expect_decision="error",
            source="§2.6",
        ),
        Case(
            "adapter slower than the timeout: error",
            replace(HTTP, timeout_ms=250),
            req(),
            http_answer=HttpAnswer(200, delay_s=0.6),
            expect_status=403,
            expect_decision="error",
            source="§3.2",
        ),
        Case(
            "failure_mode_allow + header add on error",
            replace(HTTP, failure_mode_allow=True, failure_mode_allow_header_add=True),
            req(),
            http_answer=HttpAnswer(500),
            expect_decision="error",
            source="§2.6",
        ),
        Case(
            "HTTP: allowed headers are case-sensitive",
            replace(HTTP, allowed_headers=m("X-Case-Sensitive")),
            req(headers=[("X-Case-Sensitive", "v"), ("x-case-sensitive", "w")]),
            http_answer=HttpAnswer(200),
            source="§6.12",
        ),
        Case(
            "HTTP: body buffered and passed raw",
            replace(HTTP, with_request_body=partial),
            req("POST", body=b"caf\xe9\xff0123456789abcdef"),
            http_answer=HttpAnswer(200),
            source="§3.1, §6.12",
        ),
        Case(
            "body over max_request_bytes: 413 before the check",
            replace(HTTP, with_request_body=big),
            req("POST", body=b"y" * 40),
            http_answer=HttpAnswer(200),
            expect_status=413,
            expect_decision="skipped",
            source="§2.7",
        ),
        Case(
            "per-route disabled: no check, allowed",
            HTTP,
            req(path="/static/a.css"),
            http_answer=HttpAnswer(403),
            expect_decision="skipped",
            source="§6.10",
        ),
        Case(
            "no route: 404 without a check",
            HTTP,
            req(authority="nowhere.example", path="/orders"),
            http_answer=HttpAnswer(403),
            expect_status=404,
            expect_decision="skipped",
        ),
        Case(
            "HTTP/1.0 is rejected with 426 before the check",
            HTTP,
            req(protocol="HTTP/1.0"),
            expect_status=426,
            expect_decision="skipped",
            source="§6.C",
        ),
        Case(
            "default timeout is 200 ms",
            replace(HTTP, timeout_ms=200),
            req(),
            http_answer=HttpAnswer(200, delay_s=0.35),
            expect_status=403,
            expect_decision="error",
            source="§2.6",
        ),
        Case(
            "adapter unreachable: error",
            HTTP,
            req(),
            dead_adapter=True,
            expect_status=403,
            expect_decision="error",
            source="§2.6",
        ),
        Case(
            "failure_mode_allow without header add",
            replace(HTTP, failure_mode_allow=True),
            req(),
            http_answer=HttpAnswer(502),
            expect_decision="error",
            source="§6.18",
        ),
        Case(
            "context_extensions of the more specific route",
            HTTP,
            req(path="/v2/items"),
            http_answer=HttpAnswer(200),
            source="§6.10",
        ),
        Case(
            "HTTP: deny with a JSON body and several headers of one name",
            HTTP,
            req(),
            http_answer=HttpAnswer(
                429,
                [("x-rl", "1"), ("x-rl", "2"), ("content-type", "application/json")],
                b'{"e":"rl"}',
            ),
            expect_status=429,
            expect_decision="denied",
            source="§3.2",
        ),
        Case(
            "HTTP: non-200 2xx is a deny",
            HTTP,
            req(),
            http_answer=HttpAnswer(204),
            expect_status=204,
            expect_decision="denied",
            source="§3.2",
        ),
        Case(
            "client x-forwarded-proto/-for, empty value, upper-case mutation key",
            GRPC,
            req(
                headers=[
                    ("x-forwarded-proto", "https"),
                    ("x-forwarded-for", "9.9.9.9"),
                    ("x-empty", ""),
                ]
            ),
            grpc_answer=ok(
                headers=[hvo("X-Upper", "U")],
                query_parameters_to_set=[base_pb2.QueryParameter(key="a", value="1")],
            ),
            source="§2.3",
        ),
        Case(
            "query parameter added to a path without query",
            GRPC,
            req(path="/orders"),
            grpc_answer=ok(query_parameters_to_set=[base_pb2.QueryParameter(key="a", value="1")]),
            source="§2.5",
        ),
        Case(
            "POST with an empty body and buffering",
            replace(GRPC, with_request_body=big),
            req("POST", headers=[("content-length", "0")]),
            grpc_answer=ok(),
            source="§6.8",
        ),
        Case(
            "body of exactly max_request_bytes, no partial",
            replace(GRPC, with_request_body=big),
            req("POST", body=b"0123456789abcdef"),
            grpc_answer=ok(),
            source="§2.7",
        ),
        Case(
            "body of exactly max_request_bytes, partial allowed",
            replace(GRPC, with_request_body=partial),
            req("POST", body=b"0123456789abcdef"),
            grpc_answer=ok(),
            source="§2.7",
        ),
        Case(
            "body of exactly max_request_bytes, no partial",
            replace(HTTP, with_request_body=big),
            req("POST", body=b"0123456789abcdef"),
            http_answer=HttpAnswer(200),
            source="§2.7",
        ),
        Case(
            "HTTP: auth answer headers never reach the upstream unless listed",
            HTTP,
            req(headers=[("x-existing", "orig")]),
            http_answer=HttpAnswer(200, [("x-existing", "from-authz"), ("set-cookie", "s=1")]),
            source="§3.2",
        ),
        Case(
            "validate_mutations: invalid query parameter",
            replace(GRPC, validate_mutations=True),
            req(),
            grpc_answer=ok(
                query_parameters_to_set=[base_pb2.QueryParameter(key="a\nb", value="1")]
            ),
            expect_status=500,
            expect_decision="error",
            source="§6.16",
        ),
        Case(
            "Istio CUSTOM preset (600 s timeout, cluster authority, every header)",
            EnvoySettings.istio_custom("grpc", "127.0.0.1", 9000),
            req(headers=[("client_id", "a"), ("x-any", "b")]),
            grpc_answer=ok(headers=[hvo("x-current-user", "u")]),
            source="§4",
        ),
        Case(
            "Istio CUSTOM preset (600 s timeout, cluster authority, every header)",
            EnvoySettings.istio_custom(
                "http",
                "127.0.0.1",
                9002,
                include_request_headers_in_check=["Client_Id", "x-lab-*"],
                headers_to_upstream_on_allow=["X-Current-User"],
                include_additional_headers_in_check={"x-asm-api-id": "10001"},
                path_prefix="/check",
            ),
            req(headers=[("client_id", "a"), ("X-Lab-1", "b"), ("x-other", "c")]),
            http_answer=HttpAnswer(200, [("x-current-user", "u")]),
            source="§4",
        ),
        Case(
            "HTTP: headers_to_add with %METADATA(ROUTE:asmkit:api_id)% and %REQ()%",
            replace(
                HTTP,
                http_service=HttpServiceSettings(
                    headers_to_add=(
                        HeaderToAdd("x-asm-api-id", "%METADATA(ROUTE:asmkit:api_id)%"),
                        HeaderToAdd("x-asm-service", "svc=%METADATA(ROUTE:asmkit:service)%"),
                        HeaderToAdd("x-from-req", "%REQ(client_id)%"),
                        HeaderToAdd("x-missing", "[%REQ(x-none)%]"),
                        HeaderToAdd("x-other-ns", "[%METADATA(ROUTE:other:k)%]"),
                    )
                ),
            ),
            req(path="/v2/x", headers=[("client_id", "abc")]),
            http_answer=HttpAnswer(200),
            source="§3.1 (kit convention for the API id)",
        ),
        Case(
            "encode_raw_headers: header_map, duplicates not merged",
            replace(GRPC, encode_raw_headers=True),
            req(headers=[("x-dup", "a"), ("X-Dup", "b"), ("cookie", "c=1"), ("cookie", "d=2")]),
            grpc_answer=ok(),
            source="§2.3, §6.5",
        ),
        Case(
            "encode_raw_headers: header_map, duplicates not merged",
            replace(HTTP, encode_raw_headers=True, allowed_headers=m("x-dup")),
            req(headers=[("x-dup", "a"), ("X-Dup", "b")]),
            http_answer=HttpAnswer(200),
            source="§3.1",
        ),
        Case(
            "max_denied_response_body_bytes truncates the deny body",
            replace(GRPC, max_denied_response_body_bytes=5),
            req(),
            grpc_answer=deny(7, 403, body="0123456789"),
            expect_status=403,
            expect_decision="denied",
            source="§6.17",
        ),
        Case(
            "max_denied_response_body_bytes truncates the deny body",
            replace(HTTP, max_denied_response_body_bytes=5),
            req(),
            http_answer=HttpAnswer(403, [], b"0123456789"),
            expect_status=403,
            expect_decision="denied",
            source="§6.17",
        ),
        Case(
            "wildcard virtual host serves other authorities",
            GRPC,
            req(authority="other.example", path="/public/x"),
            grpc_answer=ok(),
            source="§6.10",
        ),
        Case(
            "wildcard virtual host serves other authorities",
            HTTP,
            req(authority="other.example", path="/public/x"),
            http_answer=HttpAnswer(200),
            source="§6.10",
        ),
        Case(
            "include_tls_session on a plaintext listener: empty",
            replace(GRPC, include_tls_session=True),
            req(),
            grpc_answer=ok(),
            source="§2.3",
        ),
        Case(
            "mTLS listener: principals, URL-encoded peer certificate, SNI",
            replace(
                GRPC,
                listener_tls=PKI.listener(),
                include_peer_certificate=True,
                include_tls_session=True,
            ),
            req(
                client_cert_pem=PKI.client_cert_pem,
                client_key_pem=PKI.client_key_pem,
                sni=AUTHORITY,
            ),
            grpc_answer=ok(),
            source="§2.3",
        ),
        Case(
            "TLS listener without a client certificate",
            replace(GRPC, listener_tls=PKI.listener(False), include_tls_session=True),
            req(),
            grpc_answer=ok(),
            source="§2.3",
        ),
        Case(
            "mTLS listener: principals, URL-encoded peer certificate, SNI",
            replace(HTTP, listener_tls=PKI.listener(), include_peer_certificate=True),
            req(
                client_cert_pem=PKI.client_cert_pem,
                client_key_pem=PKI.client_key_pem,
                sni=AUTHORITY,
            ),
            http_answer=HttpAnswer(200),
            source="§3.1",
        ),
    ]
    return out

    return out
