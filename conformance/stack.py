"""The live stack one scenario runs against: a fresh fake control plane seeded from the
scenario, an echo upstream, a fresh adapter started as its profile says, and the data plane
(simulated Envoy) wired between them. Everything binds to 127.0.0.1 on ephemeral ports."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asmkit.clock import MonotonicClock
from conformance.faults import apply_fault
from conformance.launch import RunningAdapter, free_port, start_adapter
from conformance.profile import AdapterProfile
from fake_anypoint import ControlPlaneServer, ControlPlaneState, SeedResult
from scenarios.model import Scenario
from simulator import DataPlane, EchoUpstream, EnvoySettings, Route, SimulatedEnvoy


class StackError(RuntimeError):
    """The stack could not be brought up (the adapter did not start or never synced)."""


@dataclass(frozen=True, slots=True)
class Intervals:
    """The adapter's effective settings for this run (profile defaults, scenario overrides)."""

    policies: float
    contracts: float
    keepalive: float
    analytics: float
    analytics_batch_size: int
    gatekeeper: str

    def of(self, sync: str) -> float:
        return float(getattr(self, sync))


def default_service(api_key: str) -> str:
    return f"{api_key}.default.svc.cluster.local"


@dataclass
class Stack:
    """A running stack; use ``async with Stack.up(...)``."""

    state: ControlPlaneState
    seed: SeedResult
    server: ControlPlaneServer
    echo: EchoUpstream
    adapter: RunningAdapter
    envoy: DataPlane
    intervals: Intervals
    services: dict[str, str] = field(default_factory=dict)

    async def down(self) -> None:
        """Stop everything, the adapter first so its final analytics flush still lands."""
        for closer in (self.adapter.stop, self.envoy.close, self.echo.stop, self.server.stop):
            with contextlib.suppress(Exception):
                await closer()


def effective_intervals(profile: AdapterProfile, scenario: Scenario) -> Intervals:
    sync, needs = profile.sync, scenario.adapter
    return Intervals(
        policies=needs.policies_interval or sync.policies_interval,
        contracts=needs.contracts_interval or sync.contracts_interval,
        keepalive=needs.keepalive_interval or sync.keepalive_interval,
        analytics=needs.analytics_interval or sync.analytics_interval,
        analytics_batch_size=needs.analytics_batch_size or sync.analytics_batch_size,
        gatekeeper=needs.gatekeeper or sync.gatekeeper,
    )


async def bring_up(
    scenario: Scenario,
    profile: AdapterProfile,
    *,
    log_dir: Path | None = None,
    wait_ready: bool = True,
    data_plane: str = "simulated",
) -> Stack:
    """Start a fresh stack for ``scenario``; raises ``StackError`` with the reason."""
    state = ControlPlaneState(clock=MonotonicClock(), seed=scenario.seed)
    seed = state.seed(scenario.control_plane.seed_dict())
    for fault in scenario.faults:
        apply_fault(state, fault)
    server = ControlPlaneServer(state, host="127.0.0.1", port=0, ingest_port=0)
    await server.start()
    echo = EchoUpstream(host="127.0.0.1", port=0)
    await echo.start()
    intervals = effective_intervals(profile, scenario)
    transport = profile.ext_authz.transport
    in_process = profile.adapter.in_process is not None
    variables: dict[str, Any] = {
        "control_plane_url": server.base_url,
        "ingest_url": server.ingest_url,
        "client_id": state.connected_app.client_id,
        "client_secret": state.connected_app.client_secret,
        "org_id": state.org_id,
        "env_id": state.env_id,
        "grpc_port": (0 if in_process else free_port()) if transport == "grpc" else None,
        "http_port": (0 if in_process else free_port()) if transport == "http" else None,
        "policies_interval": intervals.policies,
        "contracts_interval": intervals.contracts,
        "keepalive_interval": intervals.keepalive,
        "analytics_interval": intervals.analytics,
        "analytics_batch_size": intervals.analytics_batch_size,
        "gatekeeper": intervals.gatekeeper,
    }
    log_path = log_dir / f"{scenario.name}.adapter.log" if log_dir else None
    try:
        adapter = await start_adapter(
            profile.adapter, variables, transport=transport, log_path=log_path
        )
    except Exception:
        await echo.stop()
        await server.stop()
        raise
    port = adapter.grpc_port if transport == "grpc" else adapter.http_port
    assert port is not None
    ext = profile.ext_authz
    services: dict[str, str] = {}
    routes = []
    for api in scenario.control_plane.apis:
        api_services = api.services or [default_service(api.key)]
        services[api.key] = api_services[0]
        for service in api_services:
            routes.append(
                Route(
                    authority=service,
                    context_extensions={
                        "api_id": str(seed.apis[api.key]),
                        "service": service.split(".")[0],
                    },
                )
            )
    needs = scenario.data_plane
    settings = EnvoySettings(
        transport=transport,
        authz_host="127.0.0.1",
        authz_port=port,
        timeout_ms=int(1000 * (needs.timeout if needs.timeout is not None else ext.timeout)),
        failure_mode_allow=(
            needs.failure_mode_allow
            if needs.failure_mode_allow is not None
            else ext.failure_mode_allow
        ),
        status_on_error=needs.status_on_error or ext.status_on_error,
    )
    envoy: DataPlane
    if data_plane == "envoy":
        from simulator.real_envoy import RealEnvoy

        envoy = RealEnvoy(settings, upstream_url=echo.url, routes=routes, echo=echo)
    else:
        envoy = SimulatedEnvoy(settings, upstream_url=echo.url, routes=routes, echo=echo)
    try:
        await envoy.start()
    except Exception:
        await adapter.stop()
        await echo.stop()
        await server.stop()
        raise
    stack = Stack(state, seed, server, echo, adapter, envoy, intervals, services)
    if wait_ready:
        try:
            await _wait_synced(stack, list(seed.apis.values()), profile.adapter.ready_timeout)
        except StackError:
            await stack.down()
            raise
    return stack


async def _wait_synced(stack: Stack, api_ids: list[int], timeout: float) -> None:
    """Wait until the control plane has served the adapter every API's policies and contracts
    (observed from the control plane's request journal: the adapter stays a black box)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    needed = {f"/apis/{i}/{what}" for i in api_ids for what in ("policies", "contracts")}
    while loop.time() < deadline:
        served = {e.path.split("?")[0] for e in stack.state.journal() if e.status < 400}
        seen = {n for n in needed if any(path.endswith(n) for path in served)}
        if seen >= needed:
            await asyncio.sleep(0.1)  # the adapter applies what it fetched
            return
        await asyncio.sleep(0.02)
    calls = [f"{e.method} {e.path} -> {e.status}" for e in stack.state.journal()][-10:]
    raise StackError(
        f"the adapter did not fetch policies and contracts for every API within {timeout:g}s;"
        f" last control-plane calls: {calls or 'none'}"
    )
