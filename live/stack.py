"""The live stack one scenario runs against: a fresh fake control plane seeded from the
scenario, an echo upstream, fresh adapter replicas started as the profile says, and a data plane
(simulated or real Envoy) in front of each replica. Everything binds to 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.adapter_settings import AdapterSettings
from common.clock import MonotonicClock
from fake_anypoint import ActiveFault, ControlPlaneServer, ControlPlaneState, SeedResult
from live.launch import RunningAdapter, free_port, start_adapter
from live.profile import AdapterProfile
from scenarios.model import Scenario
from simulator import (
    ASM_API_ID_HEADER,
    BufferSettings,
    ClientRequest,
    ClientResponse,
    DataPlane,
    EchoUpstream,
    EnvoySettings,
    HttpServiceSettings,
    Route,
    SimulatedEnvoy,
    StringMatcher,
)


class StackError(RuntimeError):
    """The stack could not be brought up (the adapter did not start or never synced)."""


class RoundRobin:
    """Several sidecars, one per adapter replica, taking client requests in turn (what a mesh
    Service in front of the replicas does)."""

    def __init__(self, planes: list[DataPlane]) -> None:
        self.planes = planes
        self._next = itertools.cycle(planes)

    async def start(self) -> None:
        for plane in self.planes:
            await plane.start()

    async def handle(self, request: ClientRequest) -> ClientResponse:
        return await next(self._next).handle(request)

    async def close(self) -> None:
        for plane in self.planes:
            await plane.close()


def default_service(api_key: str) -> str:
    return f"{api_key}.default.svc.cluster.local"


@dataclass
class Stack:
    """A running stack (``bring_up`` starts one, ``down`` stops it)."""

    state: ControlPlaneState
    seed: SeedResult
    server: ControlPlaneServer
    echo: EchoUpstream
    adapters: list[RunningAdapter]
    envoy: DataPlane
    settings: AdapterSettings
    """The adapter's effective settings (profile, then the scenario's needs)."""
    services: dict[str, str] = field(default_factory=dict)
    faults: list[ActiveFault] = field(default_factory=list)
    """The scenario's faults in place before the adapter started."""
    late_after: float | None = None
    """Checks answered later than this (the deployed ext_authz timeout) are applied but
    reported as late; None when the timeout is applied strictly."""

    async def down(self) -> None:
        """Stop everything, the adapters first so their final analytics flush still lands."""
        closers: list[Callable[[], Awaitable[None]]] = [a.stop for a in self.adapters]
        closers += [self.envoy.close, self.echo.stop, self.server.stop]
        for closer in closers:
            with contextlib.suppress(Exception):
                await closer()


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
        **{name: "none" if value is None else value for name, value in settings},
    }


def routes_for(scenario: Scenario, seed: SeedResult) -> tuple[list[Route], dict[str, str]]:
    """One route per bound service, carrying the API id in ``context_extensions``."""
    services: dict[str, str] = {}
    routes = []
    for api in scenario.control_plane.apis:
        api_services = api.services or [default_service(api.key)]
        services[api.key] = api_services[0]
        for service in api_services:
            extensions = {"api_id": str(seed.apis[api.key]), "service": service.split(".")[0]}
            routes.append(Route(authority=service, context_extensions=extensions))
    return routes, services


def _matchers(names: list[str]) -> tuple[StringMatcher, ...]:
    return tuple(StringMatcher(exact=n.lower(), ignore_case=True) for n in names)


def envoy_settings(profile: AdapterProfile, scenario: Scenario, port: int) -> EnvoySettings:
    ext, needs = profile.ext_authz, scenario.data_plane
    timeout = needs.timeout if needs.timeout is not None else ext.timeout + ext.late_grace
    fail_open = needs.failure_mode_allow
    http = HttpServiceSettings(
        path_prefix=ext.path_prefix,
        headers_to_add=(ASM_API_ID_HEADER,),  # the API id (docs/adapter-contract.md §1.2)
        allowed_upstream_headers=_matchers(ext.allowed_upstream_headers),
        allowed_upstream_headers_to_append=_matchers(ext.allowed_upstream_headers_to_append),
        allowed_client_headers_on_success=_matchers(ext.allowed_client_headers_on_success),
    )
    allowed = _matchers(ext.allowed_headers) if ext.allowed_headers is not None else None
    return EnvoySettings(
        transport=ext.transport,
        allowed_headers=allowed,
        http_service=http,
        authz_host="127.0.0.1",
        authz_port=port,
        timeout_ms=int(1000 * timeout),
        failure_mode_allow=fail_open if fail_open is not None else ext.failure_mode_allow,
        status_on_error=needs.status_on_error or ext.status_on_error,
        with_request_body=(
            BufferSettings(**needs.with_request_body.model_dump())
            if needs.with_request_body is not None
            else None
        ),
    )


async def bring_up(
    scenario: Scenario,
    profile: AdapterProfile,
    *,
    log_dir: Path | None = None,
    wait_ready: bool = True,
    data_plane: str = "simulated",
) -> Stack:
    """Start a fresh stack for ``scenario``; raises ``StackError`` (or the adapter's error)."""
    state = ControlPlaneState(clock=MonotonicClock(), seed=scenario.seed)
    seed = state.seed(scenario.control_plane)
    faults = [state.add_fault(fault) for fault in scenario.faults]
    for fault in faults:
        fault.at_start(state.clock.now())
    settings = effective_settings(profile, scenario)
    transport = profile.ext_authz.transport
    routes, services = routes_for(scenario, seed)
    async with contextlib.AsyncExitStack() as cleanup:
        server = ControlPlaneServer(state, host="127.0.0.1", port=0, ingest_port=0)
        await server.start()
        cleanup.push_async_callback(server.stop)
        echo = EchoUpstream(host="127.0.0.1", port=0)
        await echo.start()
        cleanup.push_async_callback(echo.stop)
        shared: dict[str, Any] = {}
        adapters, planes = [], []
        for replica in range(scenario.adapter.replicas):
            variables = adapter_variables(
                state,
                server,
                settings,
                transport=transport,
                in_process=profile.adapter.in_process is not None,
            )
            suffix = f".{replica + 1}" if scenario.adapter.replicas > 1 else ""
            log_path = log_dir / f"{scenario.name}{suffix}.adapter.log" if log_dir else None
            adapter = await start_adapter(
                profile.adapter, variables, transport=transport, log_path=log_path, shared=shared
            )
            cleanup.push_async_callback(adapter.stop)
            adapters.append(adapter)
            port = adapter.grpc_port if transport == "grpc" else adapter.http_port
            assert port is not None
            planes.append(_plane(data_plane, envoy_settings(profile, scenario, port), echo, routes))
        for fault in faults:  # windows with an `after` count from when the adapters are up
            if fault.spec.after:
                fault.at_start(state.clock.now())
        envoy: DataPlane = planes[0] if len(planes) == 1 else RoundRobin(planes)
        await envoy.start()
        cleanup.push_async_callback(envoy.close)
        stack = Stack(state, seed, server, echo, adapters, envoy, settings, services, faults)
        if scenario.data_plane.timeout is None and profile.ext_authz.late_grace > 0:
            stack.late_after = profile.ext_authz.timeout
        if wait_ready:
            await _wait_synced(stack, list(seed.apis.values()), profile.adapter.ready_timeout)
        cleanup.pop_all()  # up: from now on the caller stops it with stack.down()
    return stack


def _plane(kind: str, settings: EnvoySettings, echo: EchoUpstream, routes: list[Route]) -> Any:
    if kind == "envoy":
        from simulator.real_envoy import RealEnvoy

        return RealEnvoy(settings, upstream_url=echo.url, routes=routes, echo=echo)
    return SimulatedEnvoy(settings, upstream_url=echo.url, routes=routes, echo=echo)


async def _wait_synced(stack: Stack, api_ids: list[int], timeout: float) -> None:
    """Wait until the control plane has served every replica each API's policies and contracts
    (observed from the control plane's request journal: the adapter stays a black box)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    needed = [f"/apis/{i}/{what}" for i in api_ids for what in ("policies", "contracts")]
    replicas = len(stack.adapters)
    while loop.time() < deadline:
        served = [e.path.split("?")[0] for e in stack.state.journal() if 0 < e.status < 400]
        if all(sum(p.endswith(n) for p in served) >= replicas for n in needed):
            await asyncio.sleep(0.1)  # the adapter applies what it fetched
            return
        await asyncio.sleep(0.02)
    calls = [f"{e.method} {e.path} -> {e.status}" for e in stack.state.journal()][-10:]
    raise StackError(
        f"the adapter did not fetch policies and contracts for every API within {timeout:g}s;"
        f" last control-plane calls: {calls or 'none'}"
    )
