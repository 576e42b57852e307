"""What each adapter replica's sidecar is told: one route per bound service carrying its API id,
the ext_authz settings from the profile and the scenario's data-plane needs, which data plane
runs (the simulated Envoy on grpc.aio or the kit's own HTTP/2 client, or a real Envoy), and a
round robin over the sidecars when there are several replicas."""

from __future__ import annotations

import itertools
from typing import Any

from fake_anypoint import ControlPlaneSpec, SeedResult
from live.profile import AdapterProfile
from scenarios.model import DataPlaneNeeds
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


class RoundRobin:
    """Several sidecars, one per adapter replica, taking client requests in turn (what a mesh
    Service in front of the replicas does). (The planes of a `ReplicaSet` are started and closed
    by the set.)"""

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


def routes_for(
    control_plane: ControlPlaneSpec, seed: SeedResult
) -> tuple[list[Route], dict[str, str]]:
    """One route per bound service, carrying the API id in ``context_extensions``."""
    services: dict[str, str] = {}
    routes = []
    for api in control_plane.apis:
        api_services = api.services or [default_service(api.key)]
        services[api.key] = api_services[0]
        for service in api_services:
            extensions = {"api_id": str(seed.apis[api.key]), "service": service.split(".")[0]}
            routes.append(Route(authority=service, context_extensions=extensions))
    return routes, services


def _matchers(names: list[str]) -> tuple[StringMatcher, ...]:
    return tuple(StringMatcher(exact=n.lower(), ignore_case=True) for n in names)


def envoy_settings(profile: AdapterProfile, needs: DataPlaneNeeds, port: int) -> EnvoySettings:
    ext = profile.ext_authz
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
        encode_raw_headers=needs.encode_raw_headers,
        use_remote_address=ext.use_remote_address,
    )


def make_plane(kind: str, settings: EnvoySettings, echo: EchoUpstream, routes: list[Route]) -> Any:
    if kind == "envoy":
        from simulator.real_envoy import RealEnvoy

        return RealEnvoy(settings, upstream_url=echo.url, routes=routes, echo=echo)
    client = "asmkit" if kind == "simulated-h2" else "grpcio"
    return SimulatedEnvoy(
        settings, upstream_url=echo.url, routes=routes, echo=echo, grpc_client=client
    )
