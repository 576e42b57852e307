"""Process and fault events the live engine runs too, in virtual time: SIGKILL versus SIGTERM,
a replica staying down, replicas added and removed, Redis stopped under a shared quota, and
control-plane errors."""

from __future__ import annotations

from typing import Any

from simulator.whatif import RunResult, WhatIfSpec, replication_seed, run_once

from .helpers import base, rate_limit, spec


def once(s: WhatIfSpec, rep: int = 0) -> RunResult:
    return run_once(s, replication_seed(s, 0, rep))


def m(result: RunResult, name: str) -> Any:
    return result.metrics[name]


def restart(signal: str, downtime: float | None = 5.0) -> WhatIfSpec:
    return spec(
        adapter={"replicas": 2, "analytics_interval": 20.0, "analytics_batch_size": 10_000},
        timeline=[
            {"at": 10.0, "adapter_restart": {"replica": 1, "downtime": downtime, "signal": signal}}
        ],
    )


def test_sigterm_posts_what_it_holds_sigkill_loses_it() -> None:
    kill, term = once(restart("kill")), once(restart("term"))
    assert m(kill, "analytics_dropped") > 1000  # ~10 s of half the traffic, never posted
    assert m(term, "analytics_dropped") == 0
    assert m(term, "analytics_delivered") > m(kill, "analytics_delivered")
    assert abs(m(kill, "errors") - m(term, "errors")) < 200  # both down for 5 s


def test_a_replica_can_stay_down() -> None:
    r = once(restart("kill", downtime=None))
    # half the traffic (250 rps) fails from 10 s to the end (30 s)
    assert abs(m(r, "errors") - 5000) < 400


def test_an_added_replica_starts_cold_and_takes_traffic() -> None:
    s = spec(
        adapter={"replicas": 1, "balancing": "round_robin"},
        timeline=[{"at": 10.0, "add_replica": {}}],
    )
    r = once(s)
    assert m(r, "errors") == 0
    # 503 until its first sync (contracts every 5 s, after the policies), then in step
    assert 0 < m(r, "refused_not_ready") <= m(r, "wrongly_denied")
    assert r.windows[0]["start"] >= 10.0 and r.windows[-1]["end"] <= 12.0


def test_a_removed_replica_leaves_the_routing_without_errors() -> None:
    s = spec(
        adapter={"replicas": 2, "analytics_interval": 20.0, "analytics_batch_size": 10_000},
        timeline=[{"at": 10.0, "remove_replica": {"replica": 1}}],
    )
    r = once(s)
    assert m(r, "errors") == 0 and m(r, "wrongly_denied") == 0
    assert m(r, "analytics_dropped") == 0  # it posted what it held on the way out


def test_redis_outage_lets_each_replica_count_alone() -> None:
    def run(timeline: list[dict[str, Any]]) -> RunResult:
        data = base(
            adapter={"replicas": 2, "quota": "shared", "balancing": "round_robin"},
            traffic={
                "arrival": {"process": "constant", "rate": 100},
                "clients": [{"application": "mobile", "api": "orders"}],
            },
            timeline=timeline,
        )
        data["control_plane"]["apis"][0]["policies"].append(rate_limit(20))
        return once(WhatIfSpec.model_validate(data))

    steady = run([])
    outage = run([{"at": 10.0, "redis_outage": {"duration": 5.0}}])
    assert m(steady, "quota_overshoot_max") == 0
    # two replicas each allow 20 per second for 5 s: about 20 over the limit per window
    assert 15 <= m(outage, "quota_overshoot_max") <= 20
    assert 90 <= m(outage, "wrongly_allowed") <= 130  # single decisions: window phases differ


def test_control_plane_errors_fail_syncs() -> None:
    half = once(
        spec(timeline=[{"at": 5.0, "control_plane_errors": {"duration": 20.0, "probability": 0.5}}])
    )
    every = once(spec(timeline=[{"at": 5.0, "control_plane_errors": {"duration": 20.0}}]))
    assert 0 < m(half, "sync_failures") < m(every, "sync_failures")
    assert m(every, "wrongly_denied") == 0  # flexible: the cached state keeps being enforced
