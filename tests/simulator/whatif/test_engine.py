"""The virtual-time engine: wrong decisions around control-plane changes, enforcement lag,
quota overshoot, analytics through outages and restarts, check latency, and the fast path."""

from __future__ import annotations

from typing import Any

from simulator.whatif import RunResult, WhatIfSpec, replication_seed, run_once

from .helpers import CID, base, rate_limit, spec

REVOKE = {"at": 10.0, "revoke_contract": {"application": "mobile", "api": "orders"}}


def once(s: WhatIfSpec, rep: int = 0, fast: bool = False) -> RunResult:
    return run_once(s, replication_seed(s, 0, rep), fast=fast)


def m(result: RunResult, name: str) -> Any:
    return result.metrics[name]


def test_steady_state_has_no_wrong_decisions() -> None:
    r = once(spec())
    assert m(r, "requests") > 10_000
    assert m(r, "allowed") == m(r, "requests")
    assert m(r, "wrongly_allowed") == m(r, "wrongly_denied") == m(r, "errors") == 0
    assert r.windows == [] and m(r, "first_wrong_s") is None


def test_revocation_lets_requests_through_until_the_contracts_sync() -> None:
    s = spec(timeline=[REVOKE])
    for rep in range(3):
        r = once(s, rep)
        lag = m(r, "enforcement_lag_s")
        interval = s.adapter.contracts_interval
        assert 0 < lag <= interval + s.latency.control_plane + 1e-9
        assert m(r, "first_wrong_s") >= 10.0
        assert m(r, "last_wrong_s") <= 10.0 + lag
        mobile, web = r.clients
        assert mobile["wrongly_allowed"] == m(r, "wrongly_allowed") > 0
        assert web["wrongly_allowed"] == 0
        # half of 500 rps is the revoked client: about 250 per second of lag get through
        expected = 250 * lag
        assert abs(m(r, "wrongly_allowed") - expected) < 5 * expected**0.5 + 5
        assert r.changes[0]["kind"] == "contracts" and r.changes[0]["lag_s"] == lag


def test_longer_sync_interval_means_longer_exposure_on_average() -> None:
    def mean_lag(interval: float) -> float:
        s = spec(timeline=[REVOKE], adapter={"contracts_interval": interval})
        return sum(float(m(once(s, rep, fast=True), "enforcement_lag_s")) for rep in range(6)) / 6

    assert mean_lag(2.0) < mean_lag(15.0)


def test_same_seed_same_result_and_other_seed_differs() -> None:
    s = spec(timeline=[REVOKE])
    a, b, c = once(s, 0), once(s, 0), once(s, 1)
    assert a.metrics == b.metrics and a.series == b.series
    assert a.metrics != c.metrics


def test_fast_path_equals_exact_engine() -> None:
    cases = [
        spec(timeline=[REVOKE]),
        spec(
            adapter={"replicas": 2, "balancing": "round_robin"},
            timeline=[
                REVOKE,
                {"at": 12.0, "adapter_restart": {"replica": 0, "downtime": 3.0}},
                {"at": 15.0, "control_plane_outage": {"duration": 5.0}},
                {"at": 16.0, "ingest_outage": {"duration": 5.0, "mode": "lost_responses"}},
            ],
        ),
    ]
    cases.append(
        spec(
            warmup=3.0,
            timeline=[REVOKE],
            adapter={
                "workers": 2,
                "service_time": {"distribution": "lognormal", "mean": 0.004, "sigma": 1.5},
            },
        )
    )
    rl = base()
    rl["control_plane"]["apis"][0]["policies"].append(rate_limit(200))
    cases.append(spec(**rl))
    for s in cases:
        exact, fast = once(s), once(s, fast=True)
        assert fast.decide_calls <= exact.decide_calls
        assert exact.metrics == fast.metrics
        assert exact.series == fast.series and exact.clients == fast.clients
    assert exact.decide_calls == fast.decide_calls  # stateful chain: no memoisation
    assert m(once(cases[2]), "errors") > 0  # some checks time out in the lognormal case


def test_per_replica_quota_overshoots_and_shared_does_not() -> None:
    data = base(adapter={"replicas": 2}, duration=20.0)
    data["control_plane"]["apis"][0]["policies"].append(rate_limit(100))
    per = once(spec(**data))
    assert m(per, "quota_overshoot_ratio") > 0.8
    assert m(per, "allowed") > 1.8 * 100 * 20
    data["adapter"] = {"replicas": 2, "quota": "shared"}
    shared = once(spec(**data))
    assert m(shared, "quota_overshoot_max") == 0 and m(shared, "wrongly_allowed") == 0
    assert m(shared, "allowed") == 100 * 20
    assert per.quotas[0]["quota"] == "api orders" and per.quotas[0]["limit"] == "100 per 1s"


def test_analytics_outage_drops_what_the_buffer_cannot_hold() -> None:
    s = spec(
        duration=120.0,
        adapter={"analytics_buffer": 5_000, "analytics_batch_size": 100},
        timeline=[{"at": 10.0, "ingest_outage": {"duration": 60.0}}],
    )
    r = once(s)
    produced = m(r, "analytics_produced")
    assert produced == m(r, "requests")
    assert m(r, "buffer_high_water") == 5_000
    assert m(r, "analytics_dropped") > 0
    assert produced == (
        m(r, "analytics_delivered") + m(r, "analytics_dropped") + m(r, "analytics_in_buffer_end")
    )
    assert m(r, "analytics_delay_p99_s") > 30
    assert m(r, "analytics_duplicated") == 0


def test_lost_ingest_answers_cause_duplicates() -> None:
    s = spec(timeline=[{"at": 5.0, "ingest_outage": {"duration": 10.0, "mode": "lost_responses"}}])
    r = once(s)
    assert m(r, "analytics_duplicated") > 0
    assert m(r, "analytics_dropped") == 0


def test_restart_fails_checks_and_loses_buffered_events() -> None:
    s = spec(
        adapter={"replicas": 2},
        timeline=[{"at": 10.0, "adapter_restart": {"replica": 1, "downtime": 5.0}}],
    )
    r = once(s)
    # half the traffic (250 rps) reaches the stopped replica for 5 s
    assert abs(m(r, "errors") - 1250) < 200
    assert m(r, "wrongly_denied") >= m(r, "errors")
    assert m(r, "analytics_dropped") > 0
    assert r.windows[0]["start"] == 10.0 and r.windows[0]["end"] <= 16.0


def test_strict_gatekeeper_refuses_during_an_outage_flexible_does_not() -> None:
    outage = [{"at": 10.0, "control_plane_outage": {"duration": 10.0}}]
    strict = once(spec(adapter={"gatekeeper": "strict"}, timeline=outage))
    flexible = once(spec(timeline=outage))
    assert m(strict, "wrongly_denied") > 1000 and m(strict, "errors") == 0
    assert m(flexible, "wrongly_denied") == 0
    assert m(strict, "sync_failures") > 0 and m(flexible, "sync_failures") > 0


def test_a_new_policy_waits_for_the_policies_sync() -> None:
    data = base(
        adapter={"policies_interval": 20.0},
        timeline=[{"at": 5.0, "apply_policy": {"api": "orders", **CID}}],
    )
    data["control_plane"]["apis"][0]["policies"] = []
    data["traffic"]["clients"].append({"api": "orders", "credentials": "unknown"})
    r = once(spec(**data))
    lag = m(r, "enforcement_lag_s")
    assert r.changes[0]["kind"] == "policies" and 0 < lag <= 20.1
    unknown = r.clients[2]
    assert unknown["wrongly_allowed"] == m(r, "wrongly_allowed") > 0


def test_check_latency_grows_with_utilisation() -> None:
    def p99(rate: float) -> float:
        s = spec(
            duration=10.0,
            traffic={"arrival": {"process": "poisson", "rate": rate}},
            adapter={"workers": 2, "service_time": {"mean": 0.001}},
        )
        r = once(s, fast=True)
        assert abs(m(r, "utilisation") - rate * 0.001 / 2) < 0.05
        return float(m(r, "check_latency_p99_ms"))

    assert p99(400) < p99(1000) < p99(1800)


def test_checks_slower_than_envoys_timeout_fail() -> None:
    s = spec(
        duration=5.0,
        traffic={"arrival": {"process": "constant", "rate": 10}},
        adapter={"service_time": {"distribution": "constant", "mean": 0.5}, "workers": 8},
    )
    r = once(s)
    assert m(r, "requests") == 49 and m(r, "errors") == 49 and m(r, "allowed") == 0


SLA = {
    "key": "sla",
    "asset_id": "rate-limiting-sla-based",
    "configuration": {
        "clientIdExpression": "#[attributes.headers['client_id']]",
        "clientSecretExpression": "#[attributes.headers['client_secret']]",
    },
}


def sla_spec(**over: Any) -> WhatIfSpec:
    data = base(duration=20.0, **over)
    api = data["control_plane"]["apis"][0]
    api["policies"] = [SLA]
    api["tiers"] = [{"key": "gold", "limits": [{"maximum_requests": 50, "time_period_ms": 1000}]}]
    data["control_plane"]["contracts"][0]["tier"] = "gold"
    data["control_plane"]["contracts"][1]["tier"] = "gold"
    return spec(**data)


def test_tier_edit_reaches_the_adapter_with_the_contracts_sync() -> None:
    raised = {
        "tier": "orders/gold",
        "limits": [{"maximum_requests": 200, "time_period_ms": 1000}],
    }
    r = once(sla_spec(timeline=[{"at": 5.0, "edit_tier": raised}]))
    assert r.changes[0]["kind"] == "contracts"
    lag = m(r, "enforcement_lag_s")
    assert 0 < lag <= 5.0 + 0.05
    # each client sends ~250 rps: 50/s allowed before, 200/s after; until the sync the stale
    # tier denies about 150/s per client; once synced, the oracle adopts the adapter's windows
    wd, wa = r.series["wrongly_denied"], r.series["wrongly_allowed"]
    full = int(lag)
    assert full >= 1 and abs(sum(wd[5 : 5 + full]) - 300 * full) < 0.2 * 300 * full + 50
    assert sum(wa) == 0 and sum(wd[:5]) == 0
    assert sum(wd[6 + full :]) == 0
    assert m(r, "last_wrong_s") <= 5.0 + lag
    assert {q["quota"] for q in r.quotas} == {"client mobile", "client web"}
    assert all(q["limit"] == "50 per 1s" for q in r.quotas)


def test_policy_edit_and_removal_wait_for_the_policies_sync() -> None:
    data = base(duration=30.0, adapter={"policies_interval": 10.0})
    data["control_plane"]["apis"][0]["policies"].append(rate_limit(100))
    data["timeline"] = [
        {
            "at": 5.0,
            "edit_policy": {
                "policy": "orders/rl",
                "configuration": {
                    "rateLimits": [{"maximumRequests": 300, "timePeriodInMilliseconds": 1000}]
                },
            },
        },
        {"at": 18.0, "remove_policy": {"policy": "orders/rl"}},
    ]
    r = once(spec(**data))
    assert [c["kind"] for c in r.changes] == ["policies", "policies"]
    assert all(0 < c["lag_s"] <= 10.05 for c in r.changes)
    wd, wa = r.series["wrongly_denied"], r.series["wrongly_allowed"]
    assert sum(wd[:5]) == sum(wa[:5]) == 0
    # 500 rps against 100/s (stale) instead of 300/s: ~200/s wrongly denied until the sync
    stale = int(r.changes[0]["lag_s"])
    if stale:
        assert abs(sum(wd[5 : 5 + stale]) - 200 * stale) < 0.2 * 200 * stale + 50
    # once the removal is enforced, nobody limits: no wrong decisions at all
    done = int(18.0 + r.changes[1]["lag_s"]) + 1
    assert sum(wd[done:]) == sum(wa[done:]) == 0
    assert r.windows[-1]["end"] <= done


def test_cold_start_is_refused_with_503_until_the_first_sync() -> None:
    s = spec(
        latency={"control_plane": 0.5},
        adapter={"replicas": 1},
        timeline=[{"at": 10.0, "adapter_restart": {"downtime": 1.0}}],
    )
    r = once(s)
    # down for 1 s (errors), then 503 through the policies sync (API list + one API's policies:
    # 2 calls of 0.5 s) and the contracts sync (1 call): 1.5 s at 500 rps
    assert abs(m(r, "errors") - 500) < 80
    assert abs(m(r, "refused_not_ready") - 750) < 100


def test_oracle_follows_an_in_sync_replica_and_forks_on_a_change() -> None:
    data = base(duration=20.0)
    data["control_plane"]["apis"][0]["policies"].append(rate_limit(200))
    steady = once(spec(**data))
    # one replica, in sync, one counter store: the oracle would compute the same verdicts
    assert m(steady, "wrongly_allowed") == m(steady, "wrongly_denied") == 0
    assert m(steady, "allowed") < m(steady, "requests")
    assert steady.decide_calls == m(steady, "requests")
    changed = once(spec(**data, timeline=[REVOKE]))
    assert m(changed, "wrongly_allowed") > 0 and m(changed, "last_wrong_s") <= 10.0 + 5.05
    assert m(changed, "requests") < changed.decide_calls < 2 * m(changed, "requests")
    per_replica = once(spec(**{**data, "adapter": {"replicas": 2}}))
    assert per_replica.decide_calls == 2 * m(per_replica, "requests")


def test_approval_is_wrongly_denied_until_the_contracts_sync() -> None:
    data = base(timeline=[{"at": 8.0, "approve_contract": {"application": "web", "api": "orders"}}])
    data["control_plane"]["contracts"][1]["status"] = "REVOKED"
    r = once(spec(**data))
    lag = m(r, "enforcement_lag_s")
    assert 0 < lag <= 5.05 and m(r, "wrongly_allowed") == 0
    assert r.clients[1]["wrongly_denied"] == m(r, "wrongly_denied") > 0
    assert m(r, "first_wrong_s") >= 8.0 and m(r, "last_wrong_s") <= 8.0 + lag


def test_control_plane_slower_than_the_request_timeout_fails_syncs() -> None:
    slow = {"at": 5.0, "control_plane_latency": {"duration": 20.0, "latency": 12.0}}
    r = once(spec(timeline=[slow, REVOKE]))
    # every sync during the slow window times out (10 s): the revocation waits for its end
    assert m(r, "sync_failures") > 0
    assert m(r, "enforcement_lag_s") is None or m(r, "enforcement_lag_s") > 14.0
    fine = once(
        spec(
            timeline=[{**slow, "control_plane_latency": {"duration": 20.0, "latency": 1.0}}, REVOKE]
        )
    )
    assert m(fine, "sync_failures") == 0 and m(fine, "enforcement_lag_s") <= 5.0 + 2.0
