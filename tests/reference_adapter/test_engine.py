"""The decision engine: unknown APIs, gatekeeper modes, policy order, disabled policies,
pointcuts, configuration errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reference_adapter import DecisionEngine
from reference_adapter.model import CheckInput, Decision, Denial
from reference_adapter.policies import REGISTRY

from .helpers import API, client_id_policy, contract, engine_with, policy, req

CREDS = {"client_id": "app-1", "client_secret": "s3cret"}


class _Tag:
    """A test policy: denies with 418 when the x-deny header is present, else tags upstream."""

    asset_id = "test-tag"
    uses_contracts = False
    is_async = False

    def __init__(self, configuration, context=None):
        self.label = (configuration or {}).get("label", "tag")

    def check(self, request: CheckInput, now: float, decision: Decision, contracts):
        if "x-deny" in request.headers:
            return Denial.of(418, f"denied by {self.label}")
        decision.append_upstream("x-tags", self.label)
        return None


@pytest.fixture(autouse=True)
def _tag_policy(monkeypatch):
    monkeypatch.setitem(REGISTRY, "test-tag", _Tag)


def test_unknown_api_is_403_once_apis_are_known():
    engine = engine_with([])
    d = engine.decide(req(api_id="999"), 0.0)
    assert (d.allowed, d.status) == (False, 403)
    assert json.loads(d.body) == {"error": "unknown API"}
    assert d.violation is None


def test_everything_is_503_before_the_first_sync():
    engine = DecisionEngine()
    assert engine.decide(req(), 0.0).status == 503
    engine.set_apis([API])
    assert engine.decide(req(), 0.0).status == 503  # policies not loaded
    engine.load_policies(API, [client_id_policy()])
    d = engine.decide(req(CREDS), 0.0)
    assert d.status == 503  # contract-based policy, contracts not loaded
    assert "first policy and contract sync" in json.loads(d.body)["error"]
    engine.load_contracts(API, [contract()], None)
    assert engine.decide(req(CREDS), 0.0).allowed
    assert engine.ready() and engine.ready(API)


def test_contracts_not_needed_without_a_contract_based_policy():
    engine = DecisionEngine()
    engine.set_apis([API])
    engine.load_policies(API, [policy("test-tag")])
    assert engine.decide(req(), 0.0).allowed


def test_strict_gatekeeper_blocks_while_unreachable_flexible_does_not():
    strict = engine_with([client_id_policy()], gatekeeper="strict")
    flexible = engine_with([client_id_policy()], gatekeeper="flexible")
    for engine in (strict, flexible):
        engine.set_reachable(False)
    assert strict.decide(req(CREDS), 0.0).status == 503
    assert flexible.decide(req(CREDS), 0.0).allowed
    strict.set_reachable(True)
    assert strict.decide(req(CREDS), 0.0).allowed


def test_disabled_gatekeeper_never_answers_503_but_never_fails_open_on_credentials():
    engine = DecisionEngine("disabled")
    assert engine.decide(req(), 0.0).status == 403
    engine.set_apis([API])
    assert engine.decide(req(), 0.0).allowed  # no policies applied yet: nothing to enforce
    engine.load_policies(API, [client_id_policy()])
    assert engine.decide(req(CREDS), 0.0).status == 401  # contracts never seen


def test_bad_gatekeeper_mode():
    with pytest.raises(ValueError, match="gatekeeper='open'"):
        DecisionEngine("open")


def test_policy_order_and_first_denial_wins():
    engine = engine_with(
        [
            policy("test-tag", {"label": "second"}, policy_id=2, order=2),
            policy("test-tag", {"label": "first"}, policy_id=1, order=1),
        ]
    )
    d = engine.decide(req(), 0.0)
    assert d.upstream_append == (("x-tags", "first"), ("x-tags", "second"))
    d = engine.decide(req({"x-deny": "1"}), 0.0)
    assert d.status == 418 and d.violation is not None and d.violation.policy_id == 1


def test_disabled_policy_is_skipped():
    engine = engine_with([client_id_policy(disabled=True)])
    assert engine.decide(req(), 0.0).allowed
    assert engine.status()["apis"][API]["policies"][0]["disabled"] is True


def test_pointcut_limits_the_policy_to_matching_method_and_path():
    engine = engine_with(
        [client_id_policy(pointcut=[{"methodRegex": "POST|PUT", "uriTemplateRegex": "/orders/.*"}])]
    )
    assert engine.decide(req(method="GET", path="/orders/1"), 0.0).allowed
    assert engine.decide(req(method="POST", path="/items/1"), 0.0).allowed
    assert engine.decide(req(method="POST", path="/orders/1?x=1"), 0.0).status == 401


def test_configuration_error_keeps_the_api_at_503_until_fixed():
    engine = engine_with([client_id_policy()])
    error = engine.load_policies(API, [policy("no-such-policy", policy_id=9)], "2")
    assert error is not None and "no-such-policy" in error and "supported" in error
    d = engine.decide(req(CREDS), 0.0)
    assert d.status == 503 and "no-such-policy" in json.loads(d.body)["error"]
    assert engine.load_policies(API, [client_id_policy()], "3") is None
    assert engine.decide(req(CREDS), 0.0).allowed


def test_bad_pointcut_regex_is_a_configuration_error():
    engine = DecisionEngine()
    error = engine.load_policies(API, [client_id_policy(pointcut=[{"methodRegex": "("}])])
    assert error is not None and "pointcutData" in error


def test_unchanged_policy_keeps_its_object_across_reloads():
    engine = engine_with([policy("test-tag", {"label": "a"})])

    def impl() -> Any:
        api = engine.api(API)
        assert api is not None
        return api.chain[0].impl

    first = impl()
    engine.load_policies(API, [policy("test-tag", {"label": "a"})], "2")
    assert impl() is first
    engine.load_policies(API, [policy("test-tag", {"label": "b"})], "3")
    assert impl() is not first


def test_set_apis_forgets_removed_apis():
    engine = engine_with([client_id_policy()])
    assert engine.set_apis([API, "10002"]) == ["10002"]
    engine.set_apis(["10002"])
    assert engine.decide(req(CREDS), 0.0).status == 403
    assert not engine.contracts.loaded(API)


def test_put_contracts_for_what_if_engines():
    from reference_adapter import Contract

    engine = DecisionEngine()
    engine.load_policies(API, [client_id_policy()])
    engine.put_contracts(
        API, [Contract(1, "app-1", "s3cret"), Contract(2, "app-2", "x", status="REVOKED")]
    )
    assert engine.decide(req(CREDS), 0.0).allowed
    assert engine.decide(req({"client_id": "app-2", "client_secret": "x"}), 0.0).status == 401
