"""Every kind of timeline event applied live to a running stack (the bundled reference
adapter), each checked by its effect: control-plane changes, control-plane outage, errors and
latency, ingest outage (down and lost answers), SIGKILL / SIGTERM and restart, a replica added
and removed, Redis stopped and started; and a live run with a kill, judged."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from live.profile import BUNDLED_PROFILE, load_profile
from live.stack import Stack, bring_up
from live.whatif.chaos import SYNC_DATA, Chaos
from live.whatif.engine import run_live_once
from live.whatif.plan import plan_for_whatif
from simulator import ClientRequest
from simulator.whatif import WhatIfSpec, replication_seed
from simulator.whatif.timeline import TimelineEvent
from tests.conftest import require_tool
from tests.simulator.whatif.helpers import base, rate_limit, spec

SERVICE = "orders.default.svc.cluster.local"
PROFILE = load_profile(BUNDLED_PROFILE)


def event(**action: Any) -> TimelineEvent:
    return TimelineEvent.model_validate({"at": 0.0, **action})


async def ask(stack: Stack, app: str = "mobile", plane: int | None = None) -> Any:
    a = stack.seed.applications[app]
    request = ClientRequest(
        path="/orders",
        headers=[("client_id", a.client_id), ("client_secret", a.client_secret)],
        authority=SERVICE,
    )
    target = stack.envoy if plane is None else stack.replicas.members[plane].plane
    return await target.handle(request)


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        assert loop.time() < deadline, "the effect never showed"
        await asyncio.sleep(0.05)


def with_stack(s: WhatIfSpec, body: Callable[[Stack, Chaos], Awaitable[None]]) -> None:
    async def go() -> None:
        stack = await bring_up(plan_for_whatif(s, PROFILE), PROFILE)
        try:
            chaos = Chaos(stack, [], asyncio.get_running_loop().time())
            await body(stack, chaos)
            await chaos.settle()
        finally:
            await stack.down()

    asyncio.run(go())


FAST = {"contracts_interval": 0.2, "policies_interval": 0.3, "analytics_interval": 0.1}


def test_control_plane_changes_and_faults() -> None:
    async def body(stack: Stack, chaos: Chaos) -> None:
        assert (await ask(stack)).status == 200
        await chaos.apply(event(revoke_contract={"application": "mobile", "api": "orders"}))
        await until(lambda: _status(stack, 401))  # revoked: its credentials no longer pass
        await chaos.apply(event(approve_contract={"application": "mobile", "api": "orders"}))
        await until(lambda: _status(stack, 200))
        await chaos.apply(event(apply_policy={"api": "orders", **rate_limit(1, 60_000)}))
        await until(lambda: _status(stack, 429))
        await chaos.apply(event(remove_policy={"policy": "orders/rl"}))
        await until(lambda: _status(stack, 200))
        for kind, payload in (
            ("control_plane_outage", {"duration": 0.5}),
            ("control_plane_errors", {"duration": 0.5, "status": 500}),
            ("control_plane_latency", {"duration": 0.5, "latency": 0.3}),
        ):
            await chaos.apply(event(**{kind: payload}))
            await asyncio.sleep(0.8)
            fault = chaos.faults[-1]
            assert fault.fired > 0 and set(fault.spec.data) == set(SYNC_DATA), kind
        assert (await ask(stack)).status == 200  # flexible: enforced from the cache meanwhile

    with_stack(spec(adapter=FAST), body)


async def _status(stack: Stack, status: int) -> bool:
    return bool((await ask(stack)).status == status)


def test_ingest_outage_down_and_lost_answers() -> None:
    async def body(stack: Stack, chaos: Chaos) -> None:
        loop = asyncio.get_running_loop()
        for mode, duplicated in (("down", False), ("lost_responses", True)):
            await chaos.apply(event(ingest_outage={"duration": 2.0, "mode": mode}))
            ended = loop.time() + 2.0
            for _ in range(5):
                await ask(stack)
            deadline = ended + 8.0  # the window, then retries; polled, so a busy machine waits
            while loop.time() < deadline:
                failed = chaos.faults[-1].fired > 0
                retried = any(b.duplicates for b in stack.state.analytics_batches())
                if failed and loop.time() > ended and (retried or not duplicated):
                    break
                await asyncio.sleep(0.1)
            assert failed, mode
            assert retried == duplicated, mode
            await asyncio.sleep(max(0.0, ended - loop.time()))

    with_stack(spec(adapter=FAST), body)


def test_kill_term_restart_add_and_remove_replicas() -> None:
    async def body(stack: Stack, chaos: Chaos) -> None:
        replicas = stack.replicas
        await chaos.apply(event(adapter_restart={"replica": 0, "downtime": 0.5, "signal": "kill"}))
        await until(lambda: _decision(stack, 0, "error"))
        await until(lambda: _decision(stack, 0, "allowed"))  # restarted on the same port
        await chaos.apply(event(adapter_restart={"replica": 1, "downtime": None, "signal": "term"}))
        await until(lambda: _decision(stack, 1, "error"))
        await chaos.apply(event(add_replica={}))
        await until(lambda: asyncio.sleep(0, len(replicas.members) == 3))
        await until(lambda: _decision(stack, 2, "allowed"))
        await chaos.apply(event(remove_replica={"replica": 2}))
        await until(lambda: asyncio.sleep(0, not replicas.members[2].active))
        assert [m.index for m in replicas.active()] == [0, 1]

    with_stack(spec(adapter={**FAST, "replicas": 2}), body)


async def _decision(stack: Stack, replica: int, decision: str) -> bool:
    return bool((await ask(stack, plane=replica)).decision == decision)


def test_redis_stopped_and_started_under_a_shared_quota() -> None:
    require_tool("redis-server", "apt-get install redis-server")
    data = base(adapter={**FAST, "replicas": 2, "quota": "shared"})
    data["control_plane"]["apis"][0]["policies"].append(rate_limit(1000, 60_000))

    async def body(stack: Stack, chaos: Chaos) -> None:
        assert stack.redis is not None and stack.redis.running
        assert (await ask(stack)).status == 200
        await chaos.apply(event(redis_outage={"duration": 0.5}))
        await until(lambda: asyncio.sleep(0, not stack.redis.running))  # type: ignore[union-attr]
        assert (await ask(stack)).status == 200  # each replica counts alone meanwhile
        await until(lambda: asyncio.sleep(0, stack.redis.running))  # type: ignore[union-attr]

    with_stack(WhatIfSpec.model_validate(data), body)


def test_a_killed_replica_is_judged_live() -> None:
    s = spec(
        duration=4.0,
        adapter={**FAST, "replicas": 2, "balancing": "round_robin", "analytics_interval": 5.0},
        traffic={"arrival": {"process": "constant", "rate": 100}},
        timeline=[{"at": 1.5, "adapter_restart": {"replica": 1, "downtime": 1.0}}],
    )
    r = asyncio.run(run_live_once(s, PROFILE, replication_seed(s, 0, 0)))
    m: dict[str, Any] = r.metrics
    # half of 100 rps for the 1 s downtime, plus the restart's own time (longer on a busy machine)
    assert 40 <= m["errors"] <= 125
    assert m["wrongly_denied"] >= m["errors"] and m["wrong_beyond_lag"] == 0
    assert m["analytics_dropped"] > 0  # what replica 1 held when it was killed
