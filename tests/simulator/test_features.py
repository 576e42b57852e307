"""The optional features in isolation: header mutation rules, metadata matching and formatting,
retry rules, local reply formatting, routes with headers/direct responses/redirects, the
generated Envoy config, and the filter_enabled fraction in the simulated Envoy."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from simulator import (
    ClientRequest,
    DirectResponse,
    EnvoySettings,
    HeaderMutationRules,
    HeaderToMetadata,
    LocalReplyConfig,
    LocalReplyMapper,
    MetadataMatcher,
    RetryPolicy,
    Route,
    SimulatedEnvoy,
    StringMatcher,
)
from simulator.downstream import Verdict
from simulator.envoy_config import bootstrap
from simulator.features import apply_mutation_rules, dynamic_metadata, format_dynamic_metadata
from simulator.model import select_route
from simulator.replies import format_body, local_reply
from tests.simulator.helpers import AUTHORITY, ROUTES, deny, run, stack


def test_mutation_rules_defaults_protect_routing_envoy_and_removal_of_pseudo() -> None:
    rules = HeaderMutationRules()
    assert rules.check("set", "x-user", "u") == "ok"
    assert rules.check("set", "Host", "h") == "ignore"  # routing headers
    assert rules.check("set", ":method", "POST") == "ignore"
    assert rules.check("set", ":path", "/x") == "ok"  # not a routing header
    assert rules.check("append", ":path", "/x") == "ignore"  # pseudo-headers take one value
    assert rules.check("set", "x-envoy-thing", "1") == "ignore"
    assert rules.check("remove", ":path") == "ignore"
    assert rules.check("remove", "host") == "ignore"
    assert rules.check("set", "x-user", "a\nb") == "ignore"  # invalid value
    assert HeaderMutationRules(allow_envoy=True).check("set", "x-envoy-thing", "1") == "ok"
    assert HeaderMutationRules(disallow_system=True).check("set", ":path", "/x") == "ignore"
    assert HeaderMutationRules(allow_all_routing=True).check("set", "host", "h") == "ok"


def test_mutation_rules_expressions_and_disallow_is_error() -> None:
    rules = HeaderMutationRules(
        disallow_all=True, allow_expression="x-ok-.*", disallow_expression="x-ok-secret"
    )
    assert rules.check("set", "x-ok-1", "v") == "ok"
    assert rules.check("set", "x-ok-secret", "v") == "ignore"  # disallow wins
    assert rules.check("set", "x-other", "v") == "ignore"
    strict = replace(rules, disallow_is_error=True)
    assert strict.check("remove", "x-other") == "fail"
    with pytest.raises(ValueError, match="disallow_expression"):
        HeaderMutationRules(disallow_expression="(")


def test_apply_mutation_rules_filters_or_rejects_the_verdict() -> None:
    verdict = Verdict(
        kind="ok",
        upstream_set=[("x-p-a", "1"), ("x-free", "2")],
        upstream_append=[("x-p-b", "3")],
        upstream_add=[("x-add", "4")],
        upstream_remove=["x-p-c", "x-rm"],
    )
    rules = HeaderMutationRules(disallow_expression="x-p-.*")
    assert apply_mutation_rules(rules, verdict)
    assert verdict.upstream_set == [("x-free", "2")]
    assert verdict.upstream_append == []
    assert verdict.upstream_add == [("x-add", "4")]
    assert verdict.upstream_remove == ["x-rm"]
    strict = replace(rules, disallow_is_error=True)
    assert not apply_mutation_rules(strict, Verdict(kind="ok", upstream_remove=["x-p-c"]))


def test_metadata_from_headers_and_matcher() -> None:
    rules = (HeaderToMetadata("x-tenant", "lab", "tenant"), HeaderToMetadata("x-e", "lab", "e"))
    md = dynamic_metadata(rules, [("x-tenant", "a"), ("x-tenant", "b"), ("x-e", "")])
    assert md == {"lab": {"tenant": "a"}}  # first value; empty values are skipped
    exact = MetadataMatcher("lab", ("tenant",), StringMatcher(exact="a"))
    assert exact.matches(md)
    assert not exact.matches({})
    assert replace(exact, invert=True).matches({"lab": {"tenant": "b"}})
    present = MetadataMatcher("lab", ("tenant",), present_match=True)
    assert present.matches(md) and not present.matches({"lab": {}})
    with pytest.raises(ValueError, match="exactly one"):
        MetadataMatcher("lab", ("tenant",))
    with pytest.raises(ValueError, match="namespace"):
        MetadataMatcher("", ("k",), present_match=True)
    with pytest.raises(ValueError, match="non-empty"):
        HeaderToMetadata("", "lab", "k")


def test_format_dynamic_metadata() -> None:
    md = {"ns": {"s": "v", "n": 3.0, "f": 1.5, "d": {"k": "x"}}}
    template = "%DYNAMIC_METADATA(ns:s)%|%DYNAMIC_METADATA(ns:n)%|%DYNAMIC_METADATA(ns:f)%"
    assert format_dynamic_metadata(template, md) == "v|3|1.5"
    assert format_dynamic_metadata("%DYNAMIC_METADATA(ns:d:k)%", md) == "x"
    assert format_dynamic_metadata("[%DYNAMIC_METADATA(ns:none)%]", md) == "[]"


def test_retry_policy_rules() -> None:
    grpc_policy = RetryPolicy("unavailable,5xx", num_retries=2)
    assert grpc_policy.retries_grpc(14) and not grpc_policy.retries_grpc(13)
    assert grpc_policy.per_try_timeout_ms == 250
    http_policy = RetryPolicy("5xx")
    assert http_policy.retries_http(503) and http_policy.retries_http(None)
    assert not http_policy.retries_http(429)
    assert RetryPolicy("gateway-error").retries_http(504)
    assert not RetryPolicy("gateway-error").retries_http(500)
    settings = EnvoySettings(timeout_ms=1000, retry_policy=RetryPolicy("5xx", base_interval_ms=20))
    assert settings.expected_timeout_ms == 200
    assert replace(settings, retry_policy=None).expected_timeout_ms == 1000
    with pytest.raises(ValueError, match="num_retries"):
        RetryPolicy("5xx", num_retries=-1)


def test_local_reply_formats() -> None:
    json_cfg = LocalReplyConfig(
        json_format={"code": "%RESPONSE_CODE%", "m": "b=%LOCAL_REPLY_BODY%"}
    )
    assert format_body(json_cfg, 401, "", []) == (b'{"code":401,"m":"b="}\n', "application/json")
    text_cfg = LocalReplyConfig(text_format="%RESPONSE_CODE% %REQ(x-a)% %REQ(x-none)%")
    assert format_body(text_cfg, 403, "", [("x-a", "A")]) == (b"403 A -", "text/plain")
    mapped = LocalReplyConfig(mappers=(LocalReplyMapper(403, 401, "no"),))
    resp = local_reply(
        403, [("set", "content-type", "x/y")], b"orig", "denied", wall=0.0, config=mapped
    )
    assert (resp.status, resp.body, resp.header("content-type")) == (401, b"no", "x/y")
    forced = local_reply(
        401, [("set", "content-type", "x/y")], b"", "denied", wall=0.0, config=json_cfg
    )
    assert forced.header("content-type") == "application/json"
    assert forced.header("content-length") == str(len(forced.body))
    with pytest.raises(ValueError, match="not both"):
        LocalReplyConfig(text_format="a", json_format={"a": "b"})


def test_routes_with_headers_direct_responses_and_redirects() -> None:
    canary = Route(
        "a", prefix="/c", headers=(("X-Canary", "1"),), direct_response=DirectResponse(200)
    )
    plain = Route("a")
    assert select_route([canary, plain], "a", "/c/x", [("x-canary", "1")]) is canary
    assert select_route([canary, plain], "a", "/c/x", [("x-canary", "2")]) is plain
    assert select_route([canary, plain], "a", "/c/x") is plain
    with pytest.raises(ValueError, match="not both"):
        Route(direct_response=DirectResponse(200), path_redirect="/x")
    with pytest.raises(ValueError, match="path_redirect"):
        Route(path_redirect="x")


def test_settings_validation_for_new_fields() -> None:
    with pytest.raises(ValueError, match="filter_enabled"):
        EnvoySettings(filter_enabled=101)
    with pytest.raises(ValueError, match="metadata_context_namespaces"):
        EnvoySettings(metadata_context_namespaces="lab.dyn")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="async_response_buffer_limit"):
        EnvoySettings(async_response_buffer_limit=0)


def test_bootstrap_carries_the_new_features() -> None:
    settings = EnvoySettings(
        filter_enabled=0,
        deny_at_disable=True,
        header_to_metadata=(HeaderToMetadata("x-t", "lab", "t"),),
        node_metadata={"labels": {"app": "a"}},
        bootstrap_metadata_labels_key="labels",
        async_response_buffer_limit=1024,
        local_reply_config=LocalReplyConfig(text_format="%RESPONSE_CODE%"),
        retry_policy=RetryPolicy("unavailable"),
        decoder_header_mutation_rules=HeaderMutationRules(disallow_expression="x-p.*"),
    )
    routes = [
        Route("a", prefix="/d", direct_response=DirectResponse(204)),
        Route("a", prefix="/r", path_redirect="/n"),
        Route("a", metadata={"lab.route": {"k": "v"}}, request_headers_to_add=(("x-h", "v"),)),
    ]
    cfg = bootstrap(settings, routes, "http://127.0.0.1:8080")
    hcm = cfg["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
    hcm = hcm["typed_config"]
    names = [f["name"] for f in hcm["http_filters"]]
    assert names[:2] == ["envoy.filters.http.header_to_metadata", "envoy.filters.http.ext_authz"]
    authz = hcm["http_filters"][1]["typed_config"]
    assert authz["filter_enabled"]["default_value"]["numerator"] == 0
    assert authz["deny_at_disable"]["default_value"] is True
    assert authz["grpc_service"]["retry_policy"]["retry_on"] == "unavailable"
    assert authz["decoder_header_mutation_rules"] == {"disallow_expression": {"regex": "x-p.*"}}
    assert hcm["local_reply_config"]["body_format"]["text_format_source"]
    vh_routes = hcm["route_config"]["virtual_hosts"][0]["routes"]
    assert vh_routes[0]["direct_response"] == {"status": 204}
    assert vh_routes[1]["redirect"] == {"path_redirect": "/n"}
    assert vh_routes[2]["metadata"]["filter_metadata"]["lab.route"] == {"k": "v"}
    assert vh_routes[2]["request_headers_to_add"][0]["header"] == {"key": "x-h", "value": "v"}
    assert cfg["node"]["metadata"] == {"labels": {"app": "a"}}
    layer = cfg["layered_runtime"]["layers"][0]["static_layer"]
    assert layer == {"http.async_response_buffer_limit": 1024}


def test_filter_enabled_fraction_samples_with_the_injected_rng() -> None:
    async def main() -> tuple[int, int]:
        async with stack(EnvoySettings(timeout_ms=2000)) as st:
            st.adapter.grpc_answer = deny()
            settings = replace(st.envoy.settings, filter_enabled=30)
            envoy = SimulatedEnvoy(settings, st.echo.url, ROUTES, rng=random.Random(7))
            async with envoy:
                statuses = [
                    (await envoy.handle(ClientRequest(authority=AUTHORITY))).status
                    for _ in range(60)
                ]
            return statuses.count(403), envoy.stats["disabled"]

    denied, disabled = run(main())
    assert denied + disabled == 60
    assert 8 <= denied <= 30  # about 30 % checked (and denied), the rest skipped
