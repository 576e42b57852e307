"""Differential cases, gRPC mode: the CheckRequest, decisions, mutations, errors, bodies
(research/envoy.md §2 and §6)."""

from __future__ import annotations

from dataclasses import replace

import grpc
from envoy.config.core.v3 import base_pb2
from envoy.service.auth.v3 import external_auth_pb2

from simulator import (
    BufferSettings,
    EnvoySettings,
    StringMatcher,
)
from tests.simulator.diff_model import GRPC, MUTATION_HEADERS, A, Case, m, req
from tests.simulator.helpers import deny, error_response, hvo, ok


def grpc_cases() -> list[Case]:
    big = BufferSettings(16)
    partial = BufferSettings(16, allow_partial_message=True)
    out = [
        # ---- gRPC: the CheckRequest ----
        Case(
            "CheckRequest fields, header merging (dups, cookie, case), context_extensions",
            GRPC,
            req(
                headers=[
                    ("Client_Id", "abc"),
                    ("X-Dup", "a"),
                    ("x-dup", "b"),
                    ("Cookie", "c=1"),
                    ("cookie", "d=2"),
                    ("X-Mixed-Case", "V"),
                    ("user-agent", "curl/7.88.1"),
                    ("accept", "*/*"),
                ]
            ),
            grpc_answer=external_auth_pb2.CheckResponse(),
            source="§2.3, §6.5",
        ),
        Case(
            "POST without buffering: no size, no body",
            GRPC,
            req("POST", body=b"hello", headers=[("content-type", "text/plain")]),
            grpc_answer=ok(),
            source="§2.3",
        ),
        Case(
            "context_extensions of the more specific route",
            GRPC,
            req(path="/v2/items"),
            grpc_answer=ok(),
            source="§6.10",
        ),
        Case(
            "per-route disabled: no check, allowed",
            GRPC,
            req(path="/static/a.css"),
            grpc_answer=deny(),
            expect_decision="skipped",
            source="§6.10",
        ),
        Case(
            "no route: 404 without a check",
            GRPC,
            req(authority="nowhere.example", path="/orders"),
            grpc_answer=deny(),
            expect_status=404,
            expect_decision="skipped",
        ),
        Case(
            "HTTP/1.0 is rejected with 426 before the check",
            GRPC,
            req(protocol="HTTP/1.0"),
            expect_status=426,
            expect_decision="skipped",
            source="§6.C",
        ),
        Case(
            "allowed_headers/disallowed_headers filter the check headers",
            replace(
                GRPC,
                allowed_headers=(
                    StringMatcher(exact="client_id"),
                    StringMatcher(prefix="x-lab-"),
                    StringMatcher(safe_regex="x-re-[0-9]+"),
                ),
                disallowed_headers=m("x-lab-secret"),
            ),
            req(
                headers=[
                    ("client_id", "a"),
                    ("x-lab-1", "b"),
                    ("x-lab-secret", "s"),
                    ("x-re-12", "r"),
                    ("not-allowed", "n"),
                ]
            ),
            grpc_answer=ok(),
            source="§6.4",
        ),
        # ---- gRPC: decisions ----
        Case(
            "empty CheckResponse allows",
            GRPC,
            req(),
            grpc_answer=external_auth_pb2.CheckResponse(),
            source="§2.4",
        ),
        Case(
            "OK + denied_response allows",
            GRPC,
            req(),
            grpc_answer=deny(code=0, status=401, body="ignored"),
            source="§2.4",
        ),
        Case(
            "PERMISSION_DENIED alone: bare 403",
            GRPC,
            req(),
            grpc_answer=deny(7),
            expect_status=403,
            expect_decision="denied",
            source="§2.4",
        ),
        Case(
            "UNAUTHENTICATED alone: 403, not 401",
            GRPC,
            req(),
            grpc_answer=deny(16),
            expect_status=403,
            expect_decision="denied",
            source="§2.4",
        ),
        Case(
            "UNAVAILABLE in the message: a deny, not an error",
            GRPC,
            req(),
            grpc_answer=deny(14),
            expect_status=403,
            expect_decision="denied",
            source="§2.4",
        ),
        Case(
            "denied_response status, headers (content-type kept), body",
            GRPC,
            req(),
            grpc_answer=deny(
                7,
                401,
                [
                    hvo("www-authenticate", "Client-ID-Enforcement"),
                    hvo("x-deny", "1"),
                    hvo("content-type", "application/json"),
                ],
                '{"error": "no"}',
            ),
            expect_status=401,
            expect_decision="denied",
            source="§2.4, §6.17",
        ),
        Case(
            "denied 429 + body: Envoy adds text/plain",
            GRPC,
            req(),
            grpc_answer=deny(8, 429, body="slow down"),
            expect_status=429,
            expect_decision="denied",
            source="§2.4",
        ),
        Case(
            "denied without status + body: 403 + body",
            GRPC,
            req(),
            grpc_answer=deny(7, body="no status"),
            expect_status=403,
            expect_decision="denied",
            source="§2.4",
        ),
        Case(
            "denied_response header with append=true adds a line",
            GRPC,
            req(),
            grpc_answer=deny(7, 403, [hvo("x-d", "1"), hvo("x-d", "2", append=True)]),
            expect_status=403,
            expect_decision="denied",
            source="§2.4",
        ),
        Case(
            "denied_response header with append=true alone",
            GRPC,
            req(),
            grpc_answer=deny(7, 401, [hvo("x-a", "1", append=True), hvo("x-b", "2")]),
            expect_status=401,
            expect_decision="denied",
            source="§2.4",
        ),
        Case(
            "error_response header with append=true",
            GRPC,
            req(),
            grpc_answer=error_response(13, 503, [hvo("x-e", "1"), hvo("x-e", "2", append=True)]),
            expect_status=503,
            expect_decision="error",
            source="§6.19",
        ),
        Case(
            "error_response status, headers, body",
            GRPC,
            req(),
            grpc_answer=error_response(13, 503, [hvo("x-why", "down")], "adapter down"),
            expect_status=503,
            expect_decision="error",
            source="§2.4, §6.19",
        ),
        Case(
            "error_response without status: status_on_error",
            replace(GRPC, status_on_error=502),
            req(),
            grpc_answer=error_response(13),
            expect_status=502,
            expect_decision="error",
            source="§2.6",
        ),
        # ---- gRPC: OK mutations ----
        Case(
            "ok_response header mutations: append-only rule, removals",
            GRPC,
            req(headers=MUTATION_HEADERS),
            grpc_answer=ok(
                headers=[
                    hvo("x-current-user", "user1"),
                    hvo("x-existing", "appended", append=True),
                    hvo("x-new-append", "v", append=True),
                    hvo("x-overwrite", "new", action=A.OVERWRITE_IF_EXISTS_OR_ADD),
                    hvo("x-add-if-absent", "ignored", action=A.ADD_IF_ABSENT),
                    hvo("x-aie", "aie-added", action=A.APPEND_IF_EXISTS_OR_ADD),
                    hvo("x-multi", "first", append=False),
                    hvo("x-multi", "second", append=True),
                    hvo("x-dup", "c", append=True),
                ],
                headers_to_remove=["x-remove-me", "host", ":path", "authorization"],
            ),
            source="§2.5, §6.13, §6.14",
        ),
        Case(
            "response_headers_to_add: append and append_action",
            GRPC,
            req(path="/canned"),
            upstream_answer=(
                200,
                [("x-up", "u"), ("x-keep", "k"), ("set-cookie", "u=1")],
                b"canned",
            ),
            grpc_answer=ok(
                response_headers_to_add=[
                    hvo("x-resp-added", "r1"),
                    hvo("set-cookie", "a=1", append=True),
                    hvo("x-up", "over", append=False),
                    hvo("x-keep", "no", action=A.ADD_IF_ABSENT),
                    hvo("x-new-absent", "yes", action=A.ADD_IF_ABSENT),
                    hvo("x-only-if", "no", action=A.OVERWRITE_IF_EXISTS),
                    hvo("x-keep", "k2", action=A.OVERWRITE_IF_EXISTS),
                    hvo("x-default", "d"),
                ]
            ),
            source="§2.5, §6.15",
        ),
        Case(
            "query_parameters_to_set / _to_remove",
            GRPC,
            req(path="/api/orders?keep=1&qdrop=2&x=%20y"),
            grpc_answer=ok(
                query_parameters_to_set=[
                    base_pb2.QueryParameter(key="qset", value="s1"),
                    base_pb2.QueryParameter(key="keep", value="over"),
                ],
                query_parameters_to_remove=["qdrop"],
            ),
            source="§2.5, §6.16",
        ),
        # ---- gRPC: errors ----
        Case(
            "RPC aborted: status_on_error 403",
            GRPC,
            req(),
            abort=grpc.StatusCode.UNAVAILABLE,
            expect_status=403,
            expect_decision="error",
            source="§2.4, §6.18",
        ),
        Case(
            "error with status_on_error 503",
            replace(GRPC, status_on_error=503),
            req(),
            abort=grpc.StatusCode.INTERNAL,
            expect_status=503,
            expect_decision="error",
            source="§6.18",
        ),
        Case(
            "adapter slower than the timeout: error",
            replace(GRPC, timeout_ms=250),
            req(),
            delay_s=0.6,
            grpc_answer=ok(),
            expect_status=403,
            expect_decision="error",
            source="§2.6",
        ),
        Case(
            "default timeout is 200 ms",
            EnvoySettings(),
            req(),
            delay_s=0.35,
            grpc_answer=ok(),
            expect_status=403,
            expect_decision="error",
            source="§2.6",
        ),
        Case(
            "adapter unreachable: error",
            GRPC,
            req(),
            dead_adapter=True,
            expect_status=403,
            expect_decision="error",
            source="§2.6",
        ),
        Case(
            "failure_mode_allow + header add on error",
            replace(GRPC, failure_mode_allow=True, failure_mode_allow_header_add=True),
            req(),
            abort=grpc.StatusCode.UNAVAILABLE,
            expect_decision="error",
            source="§6.18",
        ),
        Case(
            "failure_mode_allow without header add",
            replace(GRPC, failure_mode_allow=True),
            req(),
            abort=grpc.StatusCode.UNAVAILABLE,
            expect_decision="error",
            source="§6.18",
        ),
        Case(
            "failure_mode_allow ignores error_response",
            replace(GRPC, failure_mode_allow=True),
            req(),
            grpc_answer=error_response(13, 503, [hvo("x-why", "down")], "b"),
            expect_decision="error",
            source="§6.19",
        ),
        Case(
            "validate_mutations: invalid OK header gives 500",
            replace(GRPC, validate_mutations=True),
            req(),
            grpc_answer=ok(headers=[hvo("bad header", "v")]),
            expect_status=500,
            expect_decision="error",
            source="§6.20",
        ),
        Case(
            "validate_mutations: invalid error_response header gives plain 403",
            replace(GRPC, validate_mutations=True),
            req(),
            grpc_answer=error_response(13, 503, [hvo("x-ok", "a\nb")], "b"),
            expect_status=403,
            expect_decision="error",
            source="§6.19",
        ),
        # ---- gRPC: body ----
        Case(
            "body over max_request_bytes: 413 before the check",
            replace(GRPC, with_request_body=big),
            req("POST", body=b"x" * 32),
            grpc_answer=deny(),
            expect_status=413,
            expect_decision="skipped",
            source="§6.9",
        ),
        Case(
            "small body sent whole, partial=false, client flag replaced",
            replace(GRPC, with_request_body=big),
            req("POST", body=b"small", headers=[("x-envoy-auth-partial-body", "client")]),
            grpc_answer=ok(),
            source="§6.6, §2.7",
        ),
        Case(
            "header-only request: no body, no partial flag",
            replace(GRPC, with_request_body=big),
            req(),
            grpc_answer=ok(),
            source="§6.8",
        ),
        Case(
            "allow_partial_message: body cut at the limit, upstream gets all",
            replace(GRPC, with_request_body=partial),
            req("POST", body=b"0123456789abcdefXYZ"),
            grpc_answer=ok(),
            source="§6.3, §6.9",
        ),
        Case(
            "non-UTF-8 body bytes become '!'",
            replace(GRPC, with_request_body=partial),
            req("POST", body=b"caf\xe9\xff"),
            grpc_answer=ok(),
            source="§6.7",
        ),
        Case(
            "pack_as_bytes: raw_body",
            replace(GRPC, with_request_body=BufferSettings(64, pack_as_bytes=True)),
            req("POST", body=b"\x00\x01\xffABC"),
            grpc_answer=ok(),
            source="§6.7",
        ),
    ]
    return out
