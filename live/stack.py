"""The live stack a scenario or a live what-if runs against: a fresh fake control plane seeded
from a `StackPlan` (made from a scenario or a what-if spec), an echo upstream, fresh adapter
replicas started as the profile says (a `ReplicaSet`), a data plane (simulated or real Envoy) in
front of each replica, Redis when quotas are shared through it, and the scenario's identity
provider and LDAP directory. Everything binds to
127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.adapter_settings import AdapterSettings
from common.clock import MonotonicClock
from fake_anypoint import (
    ActiveFault,
    ControlPlaneServer,
    ControlPlaneSpec,
    ControlPlaneState,
    FaultSpec,
    JournalEntry,
    SeedResult,
)
from live.identity_provider import IdentityProvider, fill_identity_provider, start_identity_provider
from live.launch import RunningAdapter, free_port
from live.ldap_directory import LdapDirectory, fill_directory, start_directory
from live.profile import AdapterProfile
from live.proxy_link import ProxyLink, cassette_path, replayer_for
from live.redis import RedisServer
from live.replicas import ReplicaSet
from live.sidecar import RoundRobin, envoy_settings, make_plane, routes_for
from scenarios.directory import DirectorySpec
from scenarios.features import Feature
from scenarios.identity import IdentityProviderSpec
from scenarios.model import DataPlaneNeeds, Scenario
from simulator import (
    DataPlane,
    EchoUpstream,
    Route,
)


class StackError(RuntimeError):
    """The stack could not be brought up (the adapter did not start or never synced)."""


@dataclass(frozen=True)
class StackPlan:
    """What a stack is brought up for: the control-plane seed, the adapter's settings, how many
    replicas, the data plane's needs and faults in place from the start. ``shared_quota``:
    replicas share clusterizable rate-limit counters (in one process through the factory's
    ``shared`` mapping, across processes through Redis); ``redis``: start a redis-server and
    pass its URL as ``{redis_url}``."""

    name: str
    seed: int
    control_plane: ControlPlaneSpec
    settings: AdapterSettings
    replicas: int = 1
    data_plane: DataPlaneNeeds = field(default_factory=DataPlaneNeeds)
    faults: tuple[FaultSpec, ...] = ()
    wait_ready: bool = True
    shared_quota: bool = True
    redis: bool = False
    identity_provider: IdentityProviderSpec | None = None
    directory: DirectorySpec | None = None
    state_dirs: bool = False
    """Give each replica a private ``{state_dir}`` kept across its restarts (scenarios that
    exercise the state cache; elsewhere it is None, and live what-ifs model an adapter
    without a cache, as their virtual engine does)."""


def plan_for_scenario(scenario: Scenario, profile: AdapterProfile) -> StackPlan:
    return StackPlan(
        name=scenario.name,
        seed=scenario.seed,
        control_plane=scenario.control_plane,
        settings=effective_settings(profile, scenario),
        replicas=scenario.adapter.replicas,
        data_plane=scenario.data_plane,
        faults=tuple(scenario.faults),
        wait_ready=scenario.adapter.wait_ready,
        redis=scenario.adapter.replicas > 1 and shares_through_redis(profile),
        identity_provider=scenario.identity_provider,
        directory=scenario.directory,
        state_dirs=Feature.STATE_CACHE in scenario.features,
    )


def shares_through_redis(profile: AdapterProfile) -> bool:
    """Whether replicas of this adapter can share counters only through a Redis the kit starts:
    separate processes whose profile passes ``{redis_url}`` (in-process replicas share memory)."""
    launch = profile.adapter
    return launch.command is not None and "{redis_url}" in repr([launch.command, launch.env])


@dataclass
class Stack:
    """A running stack (``bring_up`` starts one, ``down`` stops it). ``envoy`` takes client
    requests (round robin over the replicas' data planes); ``replicas`` is what chaos acts on."""

    state: ControlPlaneState
    seed: SeedResult
    server: ControlPlaneServer
    echo: EchoUpstream
    replicas: ReplicaSet
    envoy: DataPlane
    settings: AdapterSettings
    """The adapter's effective settings (profile, then the scenario's needs)."""
    services: dict[str, str] = field(default_factory=dict)
    faults: list[ActiveFault] = field(default_factory=list)
    """The scenario's faults in place before the adapter started."""
    redis: RedisServer | None = None
    late_after: float | None = None
    """Checks answered later than this (the deployed ext_authz timeout) are applied but
    reported as late; None when the timeout is applied strictly."""
    link: ProxyLink | None = None
    """The adapter's way through the proxy (``control_plane: {via: proxy}``)."""
    cassette_path: Path | None = None
    identity_provider: IdentityProvider | None = None
    """The scenario's identity provider (its JWKS endpoint), if it has one."""
    directory: LdapDirectory | None = None
    """The scenario's LDAP directory, if it has one."""

    @property
    def adapters(self) -> list[RunningAdapter]:
        """The running adapters."""
        return [m.adapter for m in self.replicas.members if m.adapter is not None]

    async def down(self) -> None:
        """Stop everything, the adapters first so their final analytics flush still lands (and,
        through the proxy, is recorded)."""
        closers: list[Callable[[], Awaitable[None]]] = [self.replicas.close]
        if self.link is not None:
            closers.append(self._close_link)
        closers += [self.echo.stop, self.server.stop]
        if self.identity_provider is not None:
            closers.append(self.identity_provider.stop)
        if self.directory is not None:
            closers.append(self.directory.stop)
        if self.redis is not None:
            closers.append(self.redis.stop)
        for closer in closers:
            with contextlib.suppress(Exception):
                await closer()

    async def _close_link(self) -> None:
        assert self.link is not None
        await self.link.close(self.cassette_path)

    @property
    def network_events(self) -> list[dict[str, Any]]:
        """What the proxy's network faults did (empty without the proxy)."""
        return list(self.link.events) if self.link is not None else []


def effective_settings(profile: AdapterProfile, scenario: Scenario) -> AdapterSettings:
    """The profile's settings with the scenario's needs applied."""
    return profile.sync.with_overrides(scenario.adapter.given())


def adapter_variables(
    state: ControlPlaneState,
    server: ControlPlaneServer,
    settings: AdapterSettings,
    *,
    transport: str,
    in_process: bool,
    replica: int = 0,
    redis_url: str | None = None,
) -> dict[str, Any]:
    """The ``{placeholders}`` of the profile for one replica (fresh ports for commands)."""

    def port(kind: str) -> int | None:
        return (0 if in_process else free_port()) if transport == kind else None

    return {
        "python": sys.executable,
        "control_plane_url": server.base_url,
        "ingest_url": server.ingest_url,
        "client_id": state.connected_app.client_id,
        "client_secret": state.connected_app.client_secret,
        "org_id": state.org_id,
        "env_id": state.env_id,
        "grpc_port": port("grpc"),
        "http_port": port("http"),
        "metrics_port": 0 if in_process else free_port(),
        **{name: "none" if value is None else value for name, value in settings},
        "replica": replica,
        "redis_url": redis_url,
    }


async def bring_up(
    what: Scenario | StackPlan,
    profile: AdapterProfile,
    *,
    log_dir: Path | None = None,
    wait_ready: bool | None = None,
    data_plane: str = "simulated",
    state: ControlPlaneState | None = None,
) -> Stack:
    """Start a fresh stack for a scenario or a plan; raises ``StackError`` (or the adapter's
    error). ``wait_ready`` (default: the plan's) waits for every replica's first sync.
    ``state``: a fresh control-plane state to use (the caller keeps a handle on it)."""
    plan = what if isinstance(what, StackPlan) else plan_for_scenario(what, profile)
    state = state or ControlPlaneState(clock=MonotonicClock(), seed=plan.seed)
    access = profile.control_plane
    if access.replay is not None:
        state.replay = replayer_for(access, plan.name, state)
    async with contextlib.AsyncExitStack() as cleanup:
        idp = None
        if plan.identity_provider is not None:  # first: the seed may name its JWKS URL
            idp = await start_identity_provider(plan.identity_provider, plan.seed, state)
            cleanup.push_async_callback(idp.stop)
        directory = None
        if plan.directory is not None:  # before the seed too: it may name its URL and base
            directory = await start_directory(plan.directory, state.clock)
            cleanup.push_async_callback(directory.stop)
        seed = state.seed(
            fill_directory(fill_identity_provider(plan.control_plane, idp), directory)
        )
        faults = [state.add_fault(fault) for fault in plan.faults]
        for fault in faults:
            fault.at_start(state.clock.now())
        routes, services = routes_for(plan.control_plane, seed)
        server = ControlPlaneServer(state, host="127.0.0.1", port=0, ingest_port=0)
        await server.start()
        cleanup.push_async_callback(server.stop)
        echo = EchoUpstream(host="127.0.0.1", port=0)
        await echo.start()
        cleanup.push_async_callback(echo.stop)
        redis = None
        if plan.redis:
            redis = RedisServer()
            await redis.start()
            cleanup.push_async_callback(redis.stop)
        link = await ProxyLink.open(access, server) if access.via == "proxy" else None
        if link is not None:
            cleanup.push_async_callback(link.close, None)
            for port in (s.port for s in (redis, idp, directory) if s is not None):
                await link.redirect.reach(port)
        replicas = _replica_set(
            plan, profile, state, server, (echo, routes), data_plane, log_dir, redis, link
        )
        cleanup.push_async_callback(replicas.close)
        for _ in range(plan.replicas):
            await replicas.add()
        for fault in faults:  # windows with an `after` count from when the adapters are up
            if fault.spec.after:
                fault.at_start(state.clock.now())
        planes = [m.plane for m in replicas.members]
        envoy: DataPlane = planes[0] if len(planes) == 1 else RoundRobin(planes)
        stack = Stack(
            state, seed, server, echo, replicas, envoy, plan.settings, services, faults, redis
        )
        stack.link, stack.cassette_path = link, cassette_path(access, plan.name)
        stack.identity_provider, stack.directory = idp, directory
        if plan.data_plane.timeout is None and profile.ext_authz.late_grace > 0:
            stack.late_after = profile.ext_authz.timeout
        if plan.wait_ready if wait_ready is None else wait_ready:
            bound = [seed.apis[a.key] for a in plan.control_plane.apis if a.bound_services]
            await _wait_synced(stack, bound, profile.adapter.ready_timeout)
        cleanup.pop_all()  # up: from now on the caller stops it with stack.down()
    return stack


def _replica_set(
    plan: StackPlan,
    profile: AdapterProfile,
    state: ControlPlaneState,
    server: ControlPlaneServer,
    upstream: tuple[EchoUpstream, list[Route]],
    data_plane: str,
    log_dir: Path | None,
    redis: RedisServer | None,
    link: ProxyLink | None,
) -> ReplicaSet:
    echo, routes = upstream
    transport = profile.ext_authz.transport

    def variables_for(replica: int) -> dict[str, Any]:
        variables = adapter_variables(
            state,
            server,
            plan.settings,
            transport=transport,
            in_process=profile.adapter.in_process is not None,
            replica=replica,
            redis_url=redis.url if redis is not None else None,
        )
        if link is not None:
            variables.update(link.variables(profile.adapter.model_dump_json()))
        return variables

    def plane_for(port: int) -> DataPlane:
        plane: DataPlane = make_plane(
            data_plane, envoy_settings(profile, plan.data_plane, port), echo, routes
        )
        return plane

    return ReplicaSet(
        profile,
        variables_for,
        plane_for,
        name=plan.name,
        log_dir=log_dir,
        shared={} if plan.shared_quota else None,
        network=link.redirect if link is not None else None,
        state_dirs=plan.state_dirs,
    )


def first_syncs(journal: list[JournalEntry], needed: list[str]) -> dict[str, float]:
    """Each login (adapter replica) that has been served every ``needed`` path, counted per
    bearer token so that one replica polling again cannot stand in for another, with the
    seconds from its first call to the end of the answer that completed that first sync."""
    first: dict[str, float] = {}
    served: dict[str, set[str]] = {}
    took: dict[str, float] = {}
    for entry in journal:
        caller = entry.caller
        if caller in took:
            continue
        first.setdefault(caller, entry.started)
        if 0 < entry.status < 400:
            path = entry.path.split("?")[0]
            served.setdefault(caller, set()).update(n for n in needed if path.endswith(n))
            if len(served[caller]) == len(needed):
                took[caller] = entry.started + entry.duration - first[caller]
    return took


def synced_callers(journal: list[JournalEntry], needed: list[str]) -> int:
    """How many replicas have completed a first sync (`first_syncs`)."""
    return len(first_syncs(journal, needed))


def sync_took(journal: list[JournalEntry], needed: list[str]) -> float:
    """How long the slowest replica's first sync took to fetch, on this machine, right now
    (calls without a login, such as the login itself, are no replica's)."""
    return max((s for caller, s in first_syncs(journal, needed).items() if caller), default=0.0)


APPLY_WAIT = (0.1, 1.0)
"""Seconds to let the adapter apply a sync it has fetched: at least the first (enough on an
idle machine), at most the second (a first sync slowed by faults or back-off waits no longer)."""


async def _wait_synced(stack: Stack, api_ids: list[int], timeout: float) -> None:
    """Wait until the control plane has served every replica each API's policies and contracts
    (observed from the control plane's request journal: the adapter stays a black box), then
    as long again as that first sync took, within `APPLY_WAIT`: the adapter still applies
    what it fetched, which a loaded machine slows as much as the fetching."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    needed = [f"/apis/{i}/{what}" for i in api_ids for what in ("policies", "contracts")]
    replicas = len(stack.replicas.members)
    while loop.time() < deadline:
        journal = stack.state.journal()
        if synced_callers(journal, needed) >= replicas:
            least, most = APPLY_WAIT
            await asyncio.sleep(max(least, min(sync_took(journal, needed), most)))
            return
        await asyncio.sleep(0.02)
    calls = [f"{e.method} {e.path} -> {e.status}" for e in stack.state.journal()][-10:]
    raise StackError(
        f"the adapter did not fetch policies and contracts for every API within {timeout:g}s;"
        f" last control-plane calls: {calls or 'none'}"
    )
