"""Extended-profile policies: spike-control, ip-allowlist/blocklist, header-injection/removal,
json-threat-protection, cors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from envoy.config.core.v3 import base_pb2

from reference_adapter import DecisionEngine
from reference_adapter.grpc_face import check_response

from .helpers import API, engine_with, policy, req

OVERWRITE = base_pb2.HeaderValueOption.OVERWRITE_IF_EXISTS_OR_ADD
APPEND = base_pb2.HeaderValueOption.APPEND_IF_EXISTS_OR_ADD


def spike(**config: Any) -> dict[str, Any]:
    base = {"maximumRequests": 2, "timePeriodInMilliseconds": 1000, "delayTimeInMillis": 499,
            "delayAttempts": 1, "queuingLimit": 5}  # fmt: skip
    return policy("spike-control", {**base, **config})


def test_spike_control_delays_then_rejects():
    engine = engine_with([spike()])
    first, second = engine.decide(req(), 0.0), engine.decide(req(), 0.1)
    assert first.allowed and second.allowed and first.delay_s == second.delay_s == 0
    third = engine.decide(req(), 0.6)  # retried at 1.099: the window (0.099, 1.099] holds one
    assert third.allowed and third.delay_s == pytest.approx(0.499)
    fourth = engine.decide(req(), 0.6)  # at 1.099 the window would hold 2 already
    assert fourth.status == 429 and json.loads(fourth.body)["error"].startswith("spike control")
    assert engine.decide(req(), 2.0).allowed


def test_spike_control_queue_limit_and_no_attempts():
    engine = engine_with(
        [spike(maximumRequests=1, queuingLimit=1, delayAttempts=3, delayTimeInMillis=400)]
    )
    assert engine.decide(req(), 0.0).allowed
    queued = engine.decide(req(), 0.1)
    assert queued.allowed and queued.delay_s == pytest.approx(1.2)
    assert engine.decide(req(), 0.2).message == "spike control: queue full"
    strict = engine_with([spike(maximumRequests=1, delayAttempts=0)])
    assert strict.decide(req(), 0).allowed and strict.decide(req(), 0.1).status == 429


def test_ip_allowlist_remote_address_and_cidr():
    engine = engine_with([policy("ip-allowlist", {"ips": ["10.0.0.0/8", "192.168.1.7"]})])
    assert engine.decide(req(source_ip="10.2.3.4"), 0).allowed
    assert engine.decide(req(source_ip="192.168.1.7"), 0).allowed
    d = engine.decide(req(source_ip="192.168.1.8"), 0)
    assert d.status == 403 and json.loads(d.body) == {"error": "IP is rejected"}
    assert engine.decide(req(source_ip=""), 0).status == 403


def test_ip_filters_on_x_forwarded_for():
    xff = "#[attributes.headers['x-forwarded-for']]"
    allow = engine_with([policy("ip-allowlist", {"ipExpression": xff, "ips": ["203.0.113.0/24"]})])
    assert allow.decide(
        req({"x-forwarded-for": "203.0.113.9, 10.0.0.1"}, source_ip="1.1.1.1"), 0
    ).allowed
    assert allow.decide(req({"x-forwarded-for": "10.0.0.1, 203.0.113.9"}), 0).status == 403
    assert allow.decide(req(), 0).status == 403
    block = engine_with([policy("ip-blocklist", {"ipExpression": xff, "ips": ["2001:db8::/32"]})])
    assert block.decide(req({"x-forwarded-for": "2001:db8::1"}), 0).status == 403
    assert block.decide(req({"x-forwarded-for": "2001:db9::1"}), 0).allowed
    assert block.decide(req(), 0).allowed  # no address: nothing to block


def test_ip_ranges_as_leading_octets():
    # MuleSoft's IP Allowlist page: "setting 192.168 ... includes IP addresses from 192.168.0.0
    # through 192.168.255.255"; its Flex example lists "192.168.2" and "192.160"
    engine = engine_with([policy("ip-allowlist", {"ips": ["192.168", "10.1.2", "172"]})])
    for allowed in ("192.168.0.0", "192.168.255.255", "10.1.2.77", "172.31.0.1"):
        assert engine.decide(req(source_ip=allowed), 0).allowed, allowed
    for rejected in ("192.169.0.1", "10.1.3.1", "173.0.0.1", "0.0.0.172"):
        assert engine.decide(req(source_ip=rejected), 0).status == 403, rejected
    block = engine_with([policy("ip-blocklist", {"ips": ["192.160"]})])
    assert block.decide(req(source_ip="192.160.4.4"), 0).status == 403
    assert block.decide(req(source_ip="192.161.4.4"), 0).allowed
    bad = DecisionEngine().load_policies(API, [policy("ip-allowlist", {"ips": ["192.300"]})])
    assert bad is not None and "leading IPv4 octets" in bad


def test_header_injection_and_removal():
    engine = engine_with([
        policy("header-injection", {"inboundHeaders": [{"key": "X-Env", "value": "lab"}],
                                     "outboundHeaders": [{"key": "x-served-by", "value": "mesh"}]},
               policy_id=1, order=1),
        policy("header-removal", {"inboundHeaders": ["x-secret", "x-absent"]},
               policy_id=2, order=2),
    ])  # fmt: skip
    d = engine.decide(req({"x-secret": "s"}), 0)
    assert d.upstream_set == (("x-env", "lab"),)
    assert d.response_append == (("x-served-by", "mesh"),)
    assert d.upstream_remove == ("x-secret", "x-absent")  # absent too: HTTP mode hides them
    error = DecisionEngine().load_policies(
        API, [policy("header-removal", {"outboundHeaders": ["server"]})]
    )
    assert error is not None and "cannot remove response headers" in error
    error = DecisionEngine().load_policies(
        API, [policy("header-injection", {"inboundHeaders": [{"key": "a", "value": "#[now()]"}]})]
    )
    assert error is not None and "DataWeave" in error


def test_header_removal_patterns_and_protected_headers():
    """MuleSoft's Header Removal page: "List of header names or regular expressions (comma
    separated) ... for example, `Cache-Control, Access-Control.*`", and "The following headers
    may not be removed: user-agent, accept, host, content-type, content-length, date,
    transfer-encoding, connection"."""
    engine = engine_with([
        policy("header-removal", {"inboundHeaders": "Cache-Control, Access-Control.*, X-[0-9]+-Id, "
                                                    "Accept, host, X-Trace-.*"}),
    ])  # fmt: skip
    headers = {
        "cache-control": "no-cache",
        "access-control-allow-origin": "*",
        "access-control-request-method": "GET",
        "x-42-id": "a",
        "x-a-id": "b",
        "x-trace-id": "t",
        "accept": "*/*",
        "content-type": "application/json",
        "my-access-control-x": "kept: a pattern matches the whole name",
    }
    d = engine.decide(req(headers), 0)
    assert set(d.upstream_remove) == {
        "cache-control",
        "access-control-allow-origin",
        "access-control-request-method",
        "x-42-id",
        "x-trace-id",
    }
    assert len(d.upstream_remove) == len(set(d.upstream_remove))
    matched_content = engine_with([policy("header-removal", {"inboundHeaders": [".*-type"]})])
    assert matched_content.decide(req(headers), 0).upstream_remove == ()
    error = DecisionEngine().load_policies(
        API, [policy("header-removal", {"inboundHeaders": ["x-(unclosed"]})]
    )
    assert error is not None and "regular expression" in error


def test_header_injection_adds_beside_existing_headers_but_replaces_single_valued_ones():
    """MuleSoft's Header Injection page: an injected header goes beside an existing one of its
    name, except access-control-allow-origin, content-type, content-length and
    transfer-encoding, which it overwrites. Inbound beside the client's: appended (Envoy joins
    it to the client's value); outbound: appended to the upstream's answer, or overwriting."""
    injected = [{"key": "x-tenant", "value": "acme"}, {"key": "content-type", "value": "a/b"},
                {"key": "x-new", "value": "n"}]  # fmt: skip
    engine = engine_with(
        [policy("header-injection", {"inboundHeaders": injected, "outboundHeaders": injected})]
    )
    d = engine.decide(req({"x-tenant": "client", "content-type": "text/plain"}), 0)
    assert d.upstream_append == (("x-tenant", "acme"),)
    assert d.upstream_set == (("content-type", "a/b"), ("x-new", "n"))
    assert d.response_headers == (("content-type", "a/b"),)
    assert d.response_append == (("x-tenant", "acme"), ("x-new", "n"))
    ok = check_response(d).ok_response
    actions = {o.header.key: o.append_action for o in ok.response_headers_to_add}
    assert actions == {"content-type": OVERWRITE, "x-tenant": APPEND, "x-new": APPEND}
    appended = {h.header.key: h.append.value for h in ok.headers}
    assert appended == {"x-tenant": True, "content-type": False, "x-new": False}


LIMITS = {"maxContainerDepth": 2, "maxStringValueLength": 5, "maxObjectEntryNameLength": 4,
          "maxObjectEntryCount": 2, "maxArrayElementCount": 3}  # fmt: skip


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b'{"a": [1, 2]}', 200, ""),
        (b'{"a": {"b": [1]}}', 400, "container depth exceeds 2"),
        (b'{"a": "toolong"}', 400, "string value length exceeds 5"),
        (b'{"named": 1}', 400, "entry name length exceeds 4"),
        (b'{"a": 1, "b": 2, "c": 3}', 400, "entry count exceeds 2"),
        (b'{"a": [1, 2, 3, 4]}', 400, "element count exceeds 3"),
        (b'{"a": ', 400, "invalid JSON body"),
    ],
)
def test_json_threat_protection(body, status, fragment):
    engine = engine_with([policy("json-threat-protection", LIMITS)])
    d = engine.decide(req({"content-type": "application/json"}, method="POST", body=body), 0)
    assert d.status == status
    if fragment:
        assert fragment in json.loads(d.body)["error"]


def test_json_threat_protection_needs_the_body():
    engine = engine_with([policy("json-threat-protection", LIMITS)])
    from reference_adapter import CheckInput

    no_body = CheckInput(API, "POST", "/o", {"content-type": "application/json"}, size=12)
    assert engine.decide(no_body, 0).status == 503
    # Envoy leaves `size` out when it buffers nothing: the client's own headers still tell
    for announced in ({"content-length": "36"}, {"transfer-encoding": "chunked"}):
        unbuffered = CheckInput(
            API, "POST", "/o", {"content-type": "application/json", **announced}, size=0
        )
        assert engine.decide(unbuffered, 0).status == 503
    partial = req(
        {"content-type": "application/json", "x-envoy-auth-partial-body": "true"}, body=b"{}"
    )
    assert engine.decide(partial, 0).status == 413
    assert engine.decide(req({"content-type": "text/plain"}, body=b"{{{"), 0).allowed
    assert engine.decide(req({"content-type": "application/json"}), 0).allowed  # GET, no body


def cors(**config: Any) -> dict[str, Any]:
    return policy("cors", config)


def test_cors_preflight_answered_by_the_adapter():
    engine = engine_with([cors(publicResource=False, supportCredentials=True, originGroups=[
        {"origins": ["https://app.example"], "methods": ["GET", "POST"], "headers": ["x-token"],
         "accessControlMaxAge": 600}])])  # fmt: skip
    pre = {"origin": "https://app.example", "access-control-request-method": "post",
           "access-control-request-headers": "X-Token"}  # fmt: skip
    d = engine.decide(req(pre, method="OPTIONS"), 0)
    headers = dict(d.headers)
    assert not d.allowed and d.status == 200
    assert headers["access-control-allow-origin"] == "https://app.example"
    assert headers["access-control-allow-methods"] == "POST"
    assert headers["access-control-allow-headers"] == "x-token"
    assert headers["access-control-max-age"] == "600"
    assert headers["access-control-allow-credentials"] == "true"
    for bad in (
        {**pre, "origin": "https://evil.example"},
        {**pre, "access-control-request-method": "DELETE"},
        {**pre, "access-control-request-headers": "x-other"},
    ):
        assert engine.decide(req(bad, method="OPTIONS"), 0).status == 403
    actual = engine.decide(req({"origin": "https://app.example"}), 0)
    assert (
        actual.allowed
        and ("access-control-allow-origin", "https://app.example") in actual.response_headers
    )
    other = engine.decide(req({"origin": "https://evil.example"}), 0)
    assert other.allowed and other.response_headers == ()


def test_cors_public_resource():
    engine = engine_with([cors(publicResource=True)])
    d = engine.decide(req({"origin": "https://any.example"}), 0)
    assert d.response_headers == (("access-control-allow-origin", "*"),)
    assert engine.decide(req(), 0).response_headers == ()
    error = DecisionEngine().load_policies(API, [cors(publicResource=False)])
    assert error is not None and "originGroups" in error


def test_cors_groups_as_mulesoft_documents_them():
    """MuleSoft's CORS page: ``allowedMethods`` ``[{methodName, isAllowed}]`` and
    ``exposedHeaders`` per group (Flex Gateway parameters); "Wildcards (`*`) are accepted in the
    Origins and Headers sections"; "the non-wildcard settings override the wildcard
    configurations"."""
    engine = engine_with([cors(publicResource=False, originGroups=[
        {"origins": ["*"], "headers": ["content-type"],
         "allowedMethods": [{"methodName": "GET", "isAllowed": True},
                            {"methodName": "DELETE", "isAllowed": False}]},
        {"origins": ["https://admin.example"], "headers": ["*"], "exposedHeaders": ["x-request-id"],
         "allowedMethods": [{"methodName": "GET", "isAllowed": True},
                            {"methodName": "DELETE", "isAllowed": True}]},
    ])])  # fmt: skip

    def preflight(origin: str, method: str, asked: str = "") -> int:
        headers = {"origin": origin, "access-control-request-method": method}
        if asked:
            headers["access-control-request-headers"] = asked
        return engine.decide(req(headers, method="OPTIONS"), 0).status

    assert preflight("https://admin.example", "DELETE", "x-anything, x-more") == 200
    assert preflight("https://shop.example", "DELETE") == 403  # isAllowed: false
    assert preflight("https://shop.example", "GET", "content-type") == 200
    assert preflight("https://shop.example", "GET", "x-anything") == 403
    actual = engine.decide(req({"origin": "https://admin.example"}), 0)
    assert ("access-control-expose-headers", "x-request-id") in actual.response_headers
    shop = engine.decide(req({"origin": "https://shop.example"}), 0)
    assert all(name != "access-control-expose-headers" for name, _ in shop.response_headers)
    refused = {"origins": ["*"], "allowedMethods": [{"methodName": "GET", "isAllowed": "false"}]}
    refuse_all = engine_with([cors(publicResource=False, originGroups=[refused])])
    pre = {"origin": "https://a.example", "access-control-request-method": "GET"}
    assert refuse_all.decide(req(pre, method="OPTIONS"), 0).status == 403


def test_cors_runs_before_every_other_policy():
    """MuleSoft's CORS page: "The CORS policy is always applied first by the API gateway, before
    any other policies can be applied"."""
    engine = engine_with([
        policy("client-id-enforcement", {}, policy_id=1, order=1),
        cors(publicResource=True) | {"policyId": 2, "order": 2},
    ])  # fmt: skip
    pre = {"origin": "https://a.example", "access-control-request-method": "GET"}
    d = engine.decide(req(pre, method="OPTIONS"), 0)
    assert d.status == 200 and ("access-control-allow-origin", "*") in d.headers
    assert engine.decide(req({"origin": "https://a.example"}), 0).status == 401


def test_spike_control_exposes_ratelimit_headers():
    """MuleSoft's Spike Control page: with exposeHeaders, X-Ratelimit-Limit, -Remaining and
    -Reset ("until the oldest request ages enough to fall outside of the sliding window. If
    quota is still available, the header is set to 0")."""
    engine = engine_with([spike(exposeHeaders=True, timePeriodInMilliseconds=1000)])
    first = engine.decide(req(), 0.0)
    assert dict(first.response_headers) == {
        "x-ratelimit-limit": "2", "x-ratelimit-remaining": "1", "x-ratelimit-reset": "0"
    }  # fmt: skip
    second = dict(engine.decide(req(), 0.25).response_headers)
    assert second["x-ratelimit-remaining"] == "0" and second["x-ratelimit-reset"] == "750"
    queued = engine.decide(req(), 0.6)  # served at 1.099, when the request of 0.0 has aged out
    assert queued.allowed and dict(queued.response_headers)["x-ratelimit-reset"] == "151"
    refused = engine.decide(req(), 0.6)
    assert refused.status == 429
    assert dict(refused.headers)["x-ratelimit-remaining"] == "0"
    assert dict(refused.headers)["x-ratelimit-reset"] == "400"  # the request of 0.0 leaves at 1.0
    quiet = engine_with([spike()])
    assert quiet.decide(req(), 0.0).response_headers == ()
    quiet.decide(req(), 0.0)
    assert all(not n.startswith("x-ratelimit") for n, _ in quiet.decide(req(), 0.0).headers)
