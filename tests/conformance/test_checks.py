"""Expectation matching: status, decision, headers (exact, matchers, absent), bodies (text, regex,
JSON subset), the upstream, and analytics event filters."""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.checks import check_response, json_subset_mismatches
from scenarios.expectations import ResponseExpect


@dataclass
class Upstream:
    method: str = "GET"
    path: str = "/orders"
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


@dataclass
class Response:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    decision: str = "allowed"
    upstream: Upstream | None = None
    duration_s: float = 0.01


def expect(**data: object) -> ResponseExpect:
    return ResponseExpect.model_validate(data)


def test_status_and_decision() -> None:
    assert check_response(expect(status=200, decision="allowed"), Response()) == []
    found = check_response(expect(status=[401, 403], decision="denied"), Response())
    assert [(m.field, m.expected, m.actual) for m in found] == [
        ("status", [401, 403], 200),
        ("decision", "denied", "allowed"),
    ]


def test_took_at_least_is_a_lower_bound_on_the_answer_time() -> None:
    assert check_response(expect(took_at_least="200ms"), Response(duration_s=0.25)) == []
    found = check_response(expect(took_at_least="200ms"), Response(duration_s=0.0123))
    assert [(m.field, m.expected, m.actual) for m in found] == [
        ("took", "at least 200ms", "12.3ms")
    ]


def test_headers_exact_case_insensitive_matchers_and_absent() -> None:
    response = Response(
        headers=[
            ("WWW-Authenticate", "Client-ID-Enforcement"),
            ("content-type", "application/json; charset=utf-8"),
        ]
    )
    ok = expect(
        headers={
            "www-authenticate": "Client-ID-Enforcement",
            "content-type": {"contains": "json"},
            "x-missing": None,
        }
    )
    assert check_response(ok, response) == []
    bad = check_response(
        expect(headers={"content-type": {"regex": "^text/"}, "www-authenticate": None}), response
    )
    assert [m.field for m in bad] == ["headers.content-type", "headers.www-authenticate"]


def test_duplicate_headers_are_joined_like_envoy() -> None:
    response = Response(headers=[("x-dup", "a"), ("x-dup", "b")])
    assert check_response(expect(headers={"x-dup": "a,b"}), response) == []


def test_body_rules() -> None:
    response = Response(body=b'{"error": "unknown client", "n": [1, 2]}')
    assert check_response(expect(body={"json": {"error": "unknown client"}}), response) == []
    assert check_response(expect(body={"contains": "unknown", "regex": "n.:"}), response) == []
    found = check_response(expect(body={"json": {"error": "x", "other": 1}}), response)
    assert [(m.field, m.actual) for m in found] == [
        ("body.json.error", "unknown client"),
        ("body.json.other", "missing"),
    ]
    assert check_response(expect(body={"empty": True}), response)[0].field == "body.empty"


def test_upstream_expectations() -> None:
    seen = Upstream(headers=[("client_id", "abc")])
    assert (
        check_response(
            expect(upstream={"path": "/orders", "headers": {"client_id": "abc"}}),
            Response(upstream=seen),
        )
        == []
    )
    assert (
        check_response(expect(upstream={"received": False}), Response(upstream=seen))[0].actual
        == "GET /orders"
    )
    missing = check_response(expect(upstream={"received": True}), Response(upstream=None))
    assert missing[0].field == "upstream.received"


def test_json_subset_lists_by_position() -> None:
    assert json_subset_mismatches("x", [1], [1, 2]) == []
    assert json_subset_mismatches("x", [1, 2, 3], [1, 2]) != []


def test_a_request_line_says_why_ext_authz_failed() -> None:
    from conformance.request_steps import request_summary
    from simulator import ClientRequest, ClientResponse

    request = ClientRequest(method="GET", path="/orders", headers=[], authority="orders")
    error = ClientResponse(
        status=403, headers=[], body=b"", decision="error", duration_s=0.1206,
        detail="rpc UNAVAILABLE: failed to connect",
    )  # fmt: skip
    assert request_summary(request, error) == (
        "client GET /orders -> ext_authz error (rpc UNAVAILABLE: failed to connect)"
        " -> client 403 (120.6ms)"
    )
    allowed = ClientResponse(status=200, headers=[], body=b"", decision="allowed", detail="x")
    assert request_summary(request, allowed).startswith(
        "client GET /orders -> ext_authz allowed ->"
    )
