"""A live stack for calibration: the fake control plane (HTTP), reference adapters (gRPC) and
one simulated Envoy per adapter in front of an echo upstream, plus an open-loop constant-rate
driver that records every response with its intended send time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from common.clock import MonotonicClock
from fake_anypoint import ControlPlaneServer, ControlPlaneState
from fake_anypoint.model import SeedResult
from reference_adapter.adapter import ReferenceAdapter
from reference_adapter.settings import ReferenceAdapterConfig
from simulator import ClientRequest, EchoUpstream, EnvoySettings, Route, SimulatedEnvoy

SERVICE = "orders.default.svc.cluster.local"


@dataclass
class Live:
    state: ControlPlaneState
    seed: SeedResult
    adapters: list[ReferenceAdapter]
    envoys: list[SimulatedEnvoy]


@dataclass
class Sent:
    """One request of the driver: intended time (seconds after the start), client, status."""

    at: float
    client: str
    status: int


@dataclass
class Drive:
    start: float
    sent: list[Sent] = field(default_factory=list)


@asynccontextmanager
async def live_stack(
    control_plane: dict[str, Any], replicas: int = 1, **settings: Any
) -> AsyncIterator[Live]:
    state = ControlPlaneState(MonotonicClock(), seed=0)
    seed = state.seed(control_plane)
    server = ControlPlaneServer(state)
    await server.start()
    echo = EchoUpstream()
    await echo.start()
    adapters: list[ReferenceAdapter] = []
    envoys: list[SimulatedEnvoy] = []
    try:
        for i in range(replicas):
            adapter = ReferenceAdapter(
                ReferenceAdapterConfig(
                    platform_url=server.base_url,
                    ingest_url=server.ingest_url,
                    client_id=state.connected_app.client_id,
                    client_secret=state.connected_app.client_secret,
                    org_id=state.org_id,
                    env_id=state.env_id,
                    adapter_id=f"adapter-{i}",
                    seed=i,
                    **settings,
                )
            )
            await adapter.start()
            adapters.append(adapter)
            await adapter.wait_ready(10)
            route = Route(
                authority=SERVICE,
                context_extensions={"api_id": str(seed.apis["orders"]), "service": "orders"},
            )
            envoy = SimulatedEnvoy(
                EnvoySettings(authz_port=adapter.grpc_port or 0, timeout_ms=2000),
                upstream_url=echo.url,
                routes=[route],
                echo=echo,
            )
            await envoy.start()
            envoys.append(envoy)
        yield Live(state, seed, adapters, envoys)
    finally:
        for envoy in envoys:
            await envoy.close()
        for adapter in adapters:
            await adapter.stop()
        await echo.stop()
        await server.stop()


def credentials(live: Live, app: str) -> list[tuple[str, str]]:
    a = live.seed.applications[app]
    return [("client_id", a.client_id), ("client_secret", a.client_secret)]


async def drive(
    live: Live,
    clients: list[str],
    rate: float,
    duration: float,
    at: Callable[[float], None] | None = None,
) -> Drive:
    """Send ``rate`` requests per second for ``duration`` seconds, client and Envoy round robin
    (request k goes to ``clients[k % n]`` through Envoy ``k % replicas``). ``at(elapsed)`` is
    called before each send (to trigger changes at a given moment)."""
    loop = asyncio.get_running_loop()
    result = Drive(time.monotonic())
    headers = {c: credentials(live, c) for c in clients}
    tasks: list[asyncio.Task[None]] = []
    count = int(duration * rate)
    t0 = loop.time()

    async def one(k: int, intended: float, client: str) -> None:
        envoy = live.envoys[k % len(live.envoys)]
        response = await envoy.handle(
            ClientRequest(path="/orders", headers=headers[client], authority=SERVICE)
        )
        result.sent.append(Sent(intended, client, response.status))

    for k in range(count):
        intended = k / rate
        delay = t0 + intended - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if at is not None:
            at(intended)
        tasks.append(asyncio.create_task(one(k, intended, clients[k % len(clients)])))
    await asyncio.gather(*tasks)
    result.sent.sort(key=lambda s: s.at)
    return result
