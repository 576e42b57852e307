"""rate-limiting and rate-limiting-sla-based: fixed windows from the first request, several
limits ANDed, exposed headers in ms, clusterizable sharing, SLA tiers from contracts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reference_adapter import CheckInput, DecisionEngine, SlaLimit
from reference_adapter.windows import InMemoryWindows

from .helpers import API, client_id_policy, contract, engine_with, policy, req


def rl(
    limits: list[tuple[int, int]], policy_id: int = 601, order: int = 2, **config: Any
) -> dict[str, Any]:
    rate_limits = [{"maximumRequests": m, "timePeriodInMilliseconds": p} for m, p in limits]
    return policy(
        "rate-limiting", {"rateLimits": rate_limits, **config}, policy_id=policy_id, order=order
    )


def sla(policy_id: int = 701, order: int = 1, **config: Any) -> dict[str, Any]:
    base = {"clientIdExpression": "#[attributes.headers['client_id']]",
            "clientSecretExpression": "#[attributes.headers['client_secret']]"}  # fmt: skip
    return policy("rate-limiting-sla-based", {**base, **config}, policy_id=policy_id, order=order)


def statuses(
    engine: DecisionEngine, times: list[float], request: CheckInput | None = None
) -> list[int]:
    request = request or req()
    return [engine.decide(request, t).status for t in times]


def test_window_starts_at_first_request_and_restarts_lazily():
    engine = engine_with([rl([(2, 1000)])])
    # window [5.0, 6.0): 2 allowed; the next window opens with the request at 6.2
    assert statuses(engine, [5.0, 5.1, 5.9, 6.2, 6.3, 6.5, 7.19, 7.2]) == [
        200, 200, 429, 200, 200, 429, 429, 200,
    ]  # fmt: skip


def test_429_body_and_violation():
    engine = engine_with([rl([(0, 1000)])])
    d = engine.decide(req(), 0.0)
    assert d.status == 429 and json.loads(d.body) == {"error": "quota exceeded"}
    assert d.violation is not None and d.violation.name == "rate-limiting"
    assert not any(k.startswith("x-ratelimit") for k, _ in d.headers)


def test_several_limits_are_all_required_and_a_denied_request_costs_nothing():
    engine = engine_with([rl([(3, 10_000), (1, 1000)])])
    assert statuses(engine, [0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0]) == [
        200, 429, 200, 429, 200, 429, 429,
    ]  # fmt: skip


def test_exposed_headers_describe_the_most_restrictive_limit():
    engine = engine_with([rl([(5, 60_000), (2, 1000)], exposeHeaders=True)])
    first = engine.decide(req(), 10.0)
    assert dict(first.response_headers) == {
        "x-ratelimit-limit": "2",
        "x-ratelimit-remaining": "1",
        "x-ratelimit-reset": "1000",
    }
    engine.decide(req(), 10.25)
    denied = engine.decide(req(), 10.5)
    headers = dict(denied.headers)
    assert denied.status == 429
    assert headers["x-ratelimit-remaining"] == "0" and headers["x-ratelimit-reset"] == "500"
    assert headers["content-type"] == "application/json"


def test_clusterizable_shares_quota_between_engines_that_share_windows():
    shared = InMemoryWindows()
    a, b = DecisionEngine(shared_windows=shared), DecisionEngine(shared_windows=shared)
    c, d = DecisionEngine(), DecisionEngine()
    for engine in (a, b, c, d):
        engine.load_policies(API, [rl([(3, 10_000)])])
    assert statuses(a, [0, 1]) + statuses(b, [2, 3]) == [200, 200, 200, 429]
    assert statuses(c, [0, 1]) + statuses(d, [2, 3]) == [200, 200, 200, 200]
    private = [DecisionEngine(shared_windows=shared) for _ in range(2)]
    for engine in private:
        engine.load_policies(API, [rl([(1, 10_000)], policy_id=602, clusterizable=False)])
    assert statuses(private[0], [0, 1]) + statuses(private[1], [2]) == [200, 429, 200]


def test_windows_survive_an_unchanged_resync_and_reset_on_change():
    engine = engine_with([rl([(1, 10_000)])])
    assert statuses(engine, [0, 1]) == [200, 429]
    engine.load_policies(API, [rl([(1, 10_000)])], "2")
    assert statuses(engine, [2]) == [429]
    engine.load_policies(API, [rl([(2, 10_000)])], "3")
    assert statuses(engine, [3, 4, 5]) == [200, 200, 429]


def test_key_selector_header_buckets():
    engine = engine_with([rl([(1, 10_000)], keySelector="#[attributes.headers['x-user']]")])
    assert engine.decide(req({"x-user": "a"}), 0).allowed
    assert engine.decide(req({"x-user": "b"}), 0).allowed
    assert engine.decide(req({"x-user": "a"}), 1).status == 429


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"rateLimits": []}, "at least one"),
        ({}, "rateLimits is required"),
        ({"rateLimits": [{"maximumRequests": 1}]}, "timePeriodInMilliseconds"),
        ({"rateLimits": [{"maximumRequests": 1, "timePeriodInMilliseconds": 0}]}, "> 0"),
        (
            {
                "rateLimits": [{"maximumRequests": 1, "timePeriodInMilliseconds": 9}],
                "exposeHeaders": "yes",
            },
            "exposeHeaders",
        ),
        (
            {
                "rateLimits": [{"maximumRequests": 1, "timePeriodInMilliseconds": 9}],
                "keySelector": "#[attributes.method]",
            },
            "keySelector",
        ),
    ],
)
def test_bad_configuration_is_a_503_naming_the_field(config, fragment):
    engine = DecisionEngine()
    error = engine.load_policies(API, [policy("rate-limiting", config, policy_id=9)])
    assert error is not None and fragment in error and "policy 9" in error
    assert engine.decide(req(), 0).status == 503


def test_in_memory_windows_result():
    windows = InMemoryWindows()
    limits = (SlaLimit(2, 1000),)
    assert windows.hit("k", limits, 0.0) == (True, 2, 1, 1000)
    assert windows.hit("k", limits, 0.4) == (True, 2, 0, 600)
    assert windows.hit("k", limits, 0.5) == (False, 2, 0, 500)
    assert windows.hit("k", (), 0.0).allowed
    windows.forget("k")
    assert len(windows) == 0


# ---- SLA-based ----

SLA_CONTRACTS = [
    contract("gold", "g", contract_id=1, limits=[(3, 1000)]),
    contract("multi", "m", contract_id=2, limits=[(5, 10_000), (2, 1000)]),
    contract("tierless", "t", contract_id=3),
]


def creds(client: str, secret: str) -> CheckInput:
    return req({"client_id": client, "client_secret": secret})


def test_sla_limits_come_from_the_contract_tier():
    engine = engine_with([sla()], SLA_CONTRACTS)
    assert statuses(engine, [0, 0.1, 0.2, 0.3, 1.0], creds("gold", "g")) == [
        200,
        200,
        200,
        429,
        200,
    ]
    assert statuses(engine, [0, 0.1, 0.2, 1.1, 1.2, 2.2, 2.3], creds("multi", "m")) == [
        200, 200, 429, 200, 200, 200, 429,
    ]  # fmt: skip
    d = engine.decide(creds("gold", "g"), 1.1)
    assert d.client_id == "gold" and d.violation is None


def test_sla_bad_credentials_are_401_and_tierless_contracts_get_429():
    engine = engine_with([sla()], SLA_CONTRACTS)
    for request in (req(), creds("gold", "wrong"), creds("nobody", "x")):
        d = engine.decide(request, 0)
        assert d.status == 401 and ("www-authenticate", "Client-ID-Enforcement") in d.headers
    assert engine.decide(creds("tierless", "t"), 0).status == 429


def test_sla_per_client_windows_and_exposed_headers():
    engine = engine_with(
        [sla(exposeHeaders=True)],
        [*SLA_CONTRACTS, contract("gold2", "g", contract_id=4, limits=[(3, 1000)])],
    )
    for _ in range(3):
        engine.decide(creds("gold", "g"), 0)
    assert engine.decide(creds("gold", "g"), 0.5).status == 429
    ok = engine.decide(creds("gold2", "g"), 0.5)
    assert ok.allowed and dict(ok.response_headers)["x-ratelimit-remaining"] == "2"


def test_sla_after_client_id_enforcement_in_one_chain():
    engine = engine_with([client_id_policy(order=1), sla(order=2)], SLA_CONTRACTS)
    d = engine.decide(creds("gold", "g"), 0)
    assert d.allowed and d.client_id == "gold"
    violation = engine.decide(creds("x", "y"), 0).violation
    assert violation is not None and violation.name == "client-id-enforcement"
