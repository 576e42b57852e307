"""Helpers for the fake_anypoint tests: a running server and an authorised client session."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from common.clock import ManualClock
from fake_anypoint import ControlPlaneServer, ControlPlaneState

SEED: dict[str, Any] = {
    "apis": [
        {
            "key": "orders",
            "asset_version": "1.0.0",
            "policies": [
                {
                    "key": "cid",
                    "asset_id": "client-id-enforcement",
                    "configuration": {"clientIdExpression": "#[attributes.headers['client_id']]"},
                },
                {
                    "key": "rl",
                    "asset_id": "rate-limiting",
                    "configuration": {
                        "rateLimits": [{"maximumRequests": 5, "timePeriodInMilliseconds": 1000}]
                    },
                    "pointcut": [{"method_regex": "GET", "uri_template_regex": "/orders.*"}],
                },
            ],
            "tiers": [
                {"key": "gold", "limits": [{"maximum_requests": 100, "time_period_ms": 60000}]},
                {
                    "key": "manual",
                    "auto_approve": False,
                    "limits": [{"maximum_requests": 1, "time_period_ms": 1000, "visible": False}],
                },
            ],
        },
        {"key": "billing", "product_version": "v2", "instance_label": "billing-mesh"},
    ],
    "applications": [
        {"key": "mobile", "client_id": "mobile-id", "client_secret": "mobile-secret"},
        {"key": "web"},
    ],
    "contracts": [
        {"application": "mobile", "api": "orders", "tier": "gold"},
        {"application": "web", "api": "orders", "status": "PENDING"},
        {"application": "mobile", "api": "billing"},
    ],
}


def new_state(seed: int = 0) -> tuple[ControlPlaneState, ManualClock]:
    clock = ManualClock()
    return ControlPlaneState(clock=clock, seed=seed), clock


@contextlib.asynccontextmanager
async def running(state: ControlPlaneState, **kwargs: Any) -> AsyncIterator[ControlPlaneServer]:
    server = ControlPlaneServer(state, **kwargs)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def login(session: aiohttp.ClientSession, base: str, state: ControlPlaneState) -> str:
    app = state.connected_app
    async with session.post(
        f"{base}/accounts/api/v2/oauth2/token",
        json={
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "grant_type": "client_credentials",
        },
    ) as resp:
        assert resp.status == 200, await resp.text()
        return str((await resp.json())["access_token"])


@contextlib.asynccontextmanager
async def client(
    state: ControlPlaneState, **kwargs: Any
) -> AsyncIterator[tuple[ControlPlaneServer, aiohttp.ClientSession]]:
    """A running server and a session that already sends a valid bearer token."""
    async with running(state, **kwargs) as server, aiohttp.ClientSession() as anon:
        token = await login(anon, server.base_url, state)
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
            yield server, session


def route_ids(state: ControlPlaneState, refs: Any) -> dict[str, Any]:
    """Values for every ``{name}`` in the fake's route templates, for the seeded ``SEED``."""
    return {
        "org": state.org_id,
        "env": state.env_id,
        "api_id": refs.apis["orders"],
        "policy_id": refs.policies["orders/cid"],
        "contract_id": refs.contracts["mobile/orders"],
        "tier_id": refs.tiers["orders/gold"],
        "app_id": refs.applications["mobile"].id,
        "group": state.org_id,
        "asset": "orders",
        "version": "1.0.0",
        "status_id": "s",
        "client_id": state.connected_app.client_id,
        "template": "cors",
        "action": "revoke",
        "automated_id": 1,
    }
