"""The reference adapter, synced from a fake control plane, plus an echo upstream, served from
one child process for the data-plane benchmark: client-id-enforcement and rate-limiting applied
to the API the bench routes to, with an approved contract for the bench client."""

from __future__ import annotations

import asyncio
import json
import sys

from common.clock import MonotonicClock
from fake_anypoint import ControlPlaneServer, ControlPlaneState
from reference_adapter import ReferenceAdapter, ReferenceAdapterConfig
from simulator import EchoUpstream

SEED = {
    "apis": [
        {
            "key": "orders",
            "policies": [
                {
                    "asset_id": "client-id-enforcement",
                    "configuration": {"clientIdExpression": "#[attributes.headers['client_id']]"},
                },
                {
                    "asset_id": "rate-limiting",
                    "configuration": {
                        "rateLimits": [
                            {"maximumRequests": 1_000_000_000, "timePeriodInMilliseconds": 60_000}
                        ]
                    },
                },
            ],
        }
    ],
    "applications": [{"key": "bench", "client_id": "abc", "client_secret": "s"}],
    "contracts": [{"application": "bench", "api": "orders"}],
}


async def _serve() -> None:
    state = ControlPlaneState(MonotonicClock(), seed=0)
    seeded = state.seed(SEED)
    server = ControlPlaneServer(state)
    await server.start()
    adapter = ReferenceAdapter(
        ReferenceAdapterConfig(
            platform_url=server.base_url,
            ingest_url=server.ingest_url,
            client_id=state.connected_app.client_id,
            client_secret=state.connected_app.client_secret,
            org_id=state.org_id,
            env_id=state.env_id,
            grpc_port=0,
            http_port=0,
            analytics_interval=1.0,
        )
    )
    await adapter.start()
    await adapter.wait_ready()
    echo = EchoUpstream(record=False)
    await echo.start()
    ports = {
        "grpc": adapter.grpc_port,
        "http": adapter.http_port,
        "echo": echo.port,
        "api_id": seeded.apis["orders"],
    }
    print(json.dumps(ports), flush=True)
    try:
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    finally:
        await echo.stop()
        await adapter.stop()
        await server.stop()


def serve_forever() -> None:
    asyncio.run(_serve())
