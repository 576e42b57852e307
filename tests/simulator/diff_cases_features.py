"""Differential cases for the optional filter features: filter_enabled(_metadata) +
deny_at_disable, metadata contexts and emitted dynamic metadata, destination labels, header
mutation rules, direct-response/redirect routes and clear_route_cache (research §2, §6)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from simulator import (
    HeaderMutationRules,
    HeaderToMetadata,
    HttpAnswer,
    HttpServiceSettings,
    MetadataMatcher,
    StringMatcher,
)
from tests.simulator.diff_model import GRPC, HTTP, Case, m, req
from tests.simulator.helpers import deny, hvo, ok

TENANT = HeaderToMetadata("x-tenant", "lab.dyn", "tenant")
ONLY_CHECKED = MetadataMatcher("lab.dyn", ("tenant",), StringMatcher(exact="checked"))
PROTECTED = HeaderMutationRules(disallow_expression="x-protected-.*")
PROTECTED_HEADERS = [
    ("x-protected-a", "orig"),
    ("x-protected-b", "keep"),
    ("x-protected-c", "stay"),
    ("x-free", "f"),
    ("x-rm", "gone"),
]


def disable_cases() -> list[Case]:
    out: list[Case] = []
    answers: list[tuple[Any, dict[str, Any]]] = [
        (GRPC, {"grpc_answer": deny()}),
        (HTTP, {"http_answer": HttpAnswer(403)}),
    ]
    for base, answer in answers:
        gated = replace(
            base,
            metadata_context_namespaces=("lab.dyn",),
            header_to_metadata=(TENANT,),
            filter_enabled_metadata=ONLY_CHECKED,
        )
        out += [
            Case(
                "filter_enabled 0%: no check, allowed",
                replace(base, filter_enabled=0),
                req(),
                expect_decision="skipped",
                source="§6.11",
                **answer,
            ),
            Case(
                "filter_enabled 0% + deny_at_disable: status_on_error, no check",
                replace(base, filter_enabled=0, deny_at_disable=True, status_on_error=503),
                req(),
                expect_status=503,
                expect_decision="skipped",
                source="§6.11",
                **answer,
            ),
            Case(
                "filter_enabled_metadata matches: the check runs",
                gated,
                req(headers=[("x-tenant", "checked")]),
                expect_status=403,
                expect_decision="denied",
                source="§6.11",
                **answer,
            ),
            Case(
                "filter_enabled_metadata does not match: no check, allowed",
                gated,
                req(headers=[("x-tenant", "other")]),
                expect_decision="skipped",
                source="§6.11",
                **answer,
            ),
            Case(
                "filter_enabled_metadata unmatched + deny_at_disable: 403, no check",
                replace(gated, deny_at_disable=True),
                req(),
                expect_status=403,
                expect_decision="skipped",
                source="§6.11",
                **answer,
            ),
        ]
    return out


# One Envoy for the metadata cases: dynamic metadata from headers, both context namespaces.
METADATA = replace(
    GRPC,
    header_to_metadata=(
        TENANT,
        HeaderToMetadata("x-plan", "lab.dyn", "plan"),
        HeaderToMetadata("x-zone", "lab.unlisted", "zone"),
    ),
    metadata_context_namespaces=("lab.dyn", "lab.missing"),
    route_metadata_context_namespaces=("lab.route", "asmkit", "lab.nothere"),
)


def metadata_cases() -> list[Case]:
    emitted = ok()
    emitted.dynamic_metadata.update({"user": "u1", "n": 3})
    return [
        Case(
            "dynamic_metadata of an OK reaches route request_headers_to_add",
            METADATA,
            req(path="/dyn/x", headers=[("x-tenant", "t1")]),
            grpc_answer=emitted,
            source="§2.4",
        ),
        Case(
            "dynamic_metadata of an OK reaches route request_headers_to_add",
            replace(
                HTTP,
                http_service=HttpServiceSettings(dynamic_metadata_from_headers=m("user", "n")),
            ),
            req(path="/dyn/x"),
            http_answer=HttpAnswer(200, [("user", "u1"), ("n", "3"), ("x-other", "o")]),
            source="§3.2",
        ),
        Case(
            "metadata_context and route_metadata_context namespaces",
            METADATA,
            req(headers=[("x-tenant", "t1"), ("x-plan", "gold"), ("x-zone", "eu")]),
            grpc_answer=ok(),
            source="§2.3",
        ),
        Case(
            "destination.labels from bootstrap node metadata",
            replace(
                GRPC,
                bootstrap_metadata_labels_key="labels",
                node_metadata={"labels": {"app": "orders", "version": "v1"}, "other": "x"},
            ),
            req(),
            grpc_answer=ok(),
            source="§6.2",
        ),
    ]


def mutation_rule_cases() -> list[Case]:
    grpc_answer = ok(
        headers=[
            hvo("x-protected-a", "new"),
            hvo("x-protected-b", "more", append=True),
            hvo("x-protected-new", "1"),
            hvo("x-free", "changed"),
            hvo("x-envoy-custom", "1"),
            hvo("x-added", "yes"),
        ],
        headers_to_remove=["x-protected-c", "x-rm"],
    )
    http_rules = replace(
        HTTP,
        decoder_header_mutation_rules=PROTECTED,
        http_service=HttpServiceSettings(
            allowed_upstream_headers=m("x-protected-a", "x-free", "x-envoy-custom"),
            allowed_upstream_headers_to_append=m("x-protected-b", "x-added"),
        ),
    )
    http_answer = HttpAnswer(
        200,
        [
            ("x-protected-a", "new"),
            ("x-protected-b", "more"),
            ("x-free", "changed"),
            ("x-envoy-custom", "1"),
            ("x-added", "yes"),
            ("x-envoy-auth-headers-to-remove", "x-protected-c, x-rm"),
        ],
    )
    return [
        Case(
            "decoder_header_mutation_rules: protected headers not set, appended or removed",
            replace(GRPC, decoder_header_mutation_rules=PROTECTED),
            req(headers=PROTECTED_HEADERS),
            grpc_answer=grpc_answer,
            source="§6.14, §6.22",
        ),
        Case(
            "decoder_header_mutation_rules: protected headers not set, appended or removed",
            http_rules,
            req(headers=PROTECTED_HEADERS),
            http_answer=http_answer,
            source="§6.14, §6.22",
        ),
        Case(
            "decoder_header_mutation_rules + disallow_is_error: 500",
            replace(
                GRPC,
                decoder_header_mutation_rules=replace(PROTECTED, disallow_is_error=True),
            ),
            req(headers=PROTECTED_HEADERS),
            grpc_answer=grpc_answer,
            expect_status=500,
            expect_decision="error",
            source="§6.14",
        ),
        Case(
            "decoder_header_mutation_rules + disallow_is_error: 500",
            replace(
                http_rules,
                decoder_header_mutation_rules=replace(PROTECTED, disallow_is_error=True),
            ),
            req(headers=PROTECTED_HEADERS),
            http_answer=http_answer,
            expect_status=500,
            expect_decision="error",
            source="§6.14",
        ),
        Case(
            "decoder_header_mutation_rules: disallow_all except allow_expression",
            replace(
                GRPC,
                decoder_header_mutation_rules=HeaderMutationRules(
                    disallow_all=True, allow_expression="x-free|x-envoy-custom"
                ),
            ),
            req(headers=PROTECTED_HEADERS),
            grpc_answer=grpc_answer,
            source="§6.14",
        ),
    ]


def route_cases() -> list[Case]:
    out: list[Case] = []
    canary_http = replace(
        HTTP, http_service=HttpServiceSettings(allowed_upstream_headers=m("x-canary"))
    )
    for base, allow, http in ((GRPC, ok(), False), (HTTP, HttpAnswer(200), True)):
        answer: dict[str, Any] = {"http_answer": allow} if http else {"grpc_answer": allow}
        out += [
            Case(
                "direct-response route runs ext_authz first",
                base,
                req(path="/direct/x"),
                source="§6.24",
                **answer,
            ),
            Case(
                "redirect route runs ext_authz first: 301 + location",
                base,
                req(path="/old/page?q=1"),
                expect_status=301,
                source="§6.24",
                **answer,
            ),
            Case(
                "clear_route_cache: a header set by the check re-picks the route",
                replace(canary_http if http else base, clear_route_cache=True),
                req(path="/canary/x"),
                source="§2.5",
                **(
                    {"http_answer": HttpAnswer(200, [("x-canary", "1")])}
                    if http
                    else {"grpc_answer": ok(headers=[hvo("x-canary", "1")])}
                ),
            ),
            Case(
                "without clear_route_cache the first route stays",
                canary_http if http else base,
                req(path="/canary/x"),
                source="§2.5",
                **(
                    {"http_answer": HttpAnswer(200, [("x-canary", "1")])}
                    if http
                    else {"grpc_answer": ok(headers=[hvo("x-canary", "1")])}
                ),
            ),
        ]
    out += [
        Case(
            "HTTP: clear_route_cache ignores a header added by _to_append alone",
            replace(
                HTTP,
                clear_route_cache=True,
                http_service=HttpServiceSettings(allowed_upstream_headers_to_append=m("x-canary")),
            ),
            req(path="/canary/x"),
            http_answer=HttpAnswer(200, [("x-canary", "1")]),
            source="§2.5",
        ),
        Case(
            "direct-response route: a deny wins",
            GRPC,
            req(path="/direct/x"),
            grpc_answer=deny(),
            expect_status=403,
            expect_decision="denied",
            source="§6.24",
        ),
        Case(
            "direct-response 204 with response_headers_to_add",
            GRPC,
            req(path="/nocontent"),
            grpc_answer=ok(response_headers_to_add=[hvo("x-resp", "r1")]),
            expect_status=204,
            source="§6.24",
        ),
    ]
    return out


def remote_address_cases() -> list[Case]:
    """The connection manager's `use_remote_address`: how the client address reaches an HTTP
    auth server (x-forwarded-for and x-envoy-external-address), and the same headers in gRPC."""
    grpc = replace(GRPC, use_remote_address=True)
    http = replace(
        HTTP,
        use_remote_address=True,
        allowed_headers=m("x-forwarded-for", "x-envoy-external-address"),
    )
    spoofed = [("x-forwarded-for", "203.0.113.9"), ("x-envoy-external-address", "203.0.113.9")]
    out: list[Case] = []
    for name, settings, answer in (
        ("gRPC", grpc, {"grpc_answer": ok()}),
        ("HTTP", http, {"http_answer": HttpAnswer(200)}),
    ):
        out += [
            Case(
                f"{name}: use_remote_address appends the client address to x-forwarded-for",
                settings,
                req(source_ip="127.10.0.5"),
                source="use_remote_address",
                **answer,
            ),
            Case(
                f"{name}: use_remote_address after a client's own forwarding headers",
                settings,
                req(source_ip="127.10.0.5", headers=spoofed),
                source="use_remote_address",
                **answer,
            ),
            Case(
                f"{name}: use_remote_address for a client at 127.0.0.1 (Envoy's own address)",
                settings,
                req(),
                source="use_remote_address",
                **answer,
            ),
        ]
    return out


def feature_cases() -> list[Case]:
    return (
        disable_cases()
        + metadata_cases()
        + mutation_rule_cases()
        + route_cases()
        + remote_address_cases()
    )
