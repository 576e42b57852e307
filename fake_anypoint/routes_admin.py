"""The admin API under ``/_admin/``: the Python API of ``ControlPlaneState`` over HTTP
(reset, seed, snapshot, journal, faults, analytics). No auth, never faulted, not journaled.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aiohttp import web

from .bounded import read_json
from .faults import FaultSpec
from .httpkit import ADMIN as ADMIN_ROUTE
from .httpkit import add, json_response, state_of

ADMIN = "/_admin"


def register(app: web.Application) -> None:
    add(app, "GET", f"{ADMIN}/info", info, ADMIN_ROUTE)
    add(app, "POST", f"{ADMIN}/reset", reset, ADMIN_ROUTE)
    add(app, "POST", f"{ADMIN}/seed", seed, ADMIN_ROUTE)
    add(app, "GET", f"{ADMIN}/snapshot", snapshot, ADMIN_ROUTE)
    add(app, "PUT", f"{ADMIN}/snapshot", restore, ADMIN_ROUTE)
    add(app, "GET", f"{ADMIN}/journal", journal, ADMIN_ROUTE)
    add(app, "GET", f"{ADMIN}/faults", list_faults, ADMIN_ROUTE)
    add(app, "POST", f"{ADMIN}/faults", add_faults, ADMIN_ROUTE)
    add(app, "DELETE", f"{ADMIN}/faults", clear_faults, ADMIN_ROUTE)
    add(app, "GET", f"{ADMIN}/analytics", analytics, ADMIN_ROUTE)
    add(app, "POST", f"{ADMIN}/expire-tokens", expire_tokens, ADMIN_ROUTE)


async def info(request: web.Request) -> web.Response:
    state = state_of(request)
    return json_response(
        {
            "org_id": state.org_id,
            "env_id": state.env_id,
            "client_id": state.connected_app.client_id,
            "client_secret": state.connected_app.client_secret,
            "username": state.user["username"],
            "password": state.user["password"],
            "now": state.clock.now(),
            "wall": state.clock.wall(),
        }
    )


async def reset(request: web.Request) -> web.Response:
    state_of(request).reset()
    return web.Response(status=204)


async def seed(request: web.Request) -> web.Response:
    result = state_of(request).seed(await read_json(request))
    return json_response(
        {
            "apis": result.apis,
            "policies": result.policies,
            "tiers": result.tiers,
            "contracts": result.contracts,
            "applications": {k: asdict(v) for k, v in result.applications.items()},
        }
    )


async def snapshot(request: web.Request) -> web.Response:
    return json_response(state_of(request).snapshot())


async def restore(request: web.Request) -> web.Response:
    """The whole document is validated before anything changes (all or nothing)."""
    state_of(request).restore(await read_json(request))
    return web.Response(status=204)


async def journal(request: web.Request) -> web.Response:
    entries = state_of(request).journal(request.query.get("data") or None)
    return json_response([asdict(e) for e in entries])


async def list_faults(request: web.Request) -> web.Response:
    return json_response([f.to_dict() for f in state_of(request).faults()])


async def add_faults(request: web.Request) -> web.Response:
    """One fault object or a list of them (``FaultSpec``, windows counted from now); all are
    checked before any is added."""
    data = await read_json(request)
    items: list[Any] = data if isinstance(data, list) else [data]
    specs = [FaultSpec.model_validate(item) for item in items]
    state = state_of(request)
    added = [state.add_fault(spec) for spec in specs]
    return json_response([f.to_dict() for f in added], status=201)


async def clear_faults(request: web.Request) -> web.Response:
    state_of(request).clear_faults()
    return web.Response(status=204)


async def analytics(request: web.Request) -> web.Response:
    state = state_of(request)
    return json_response(
        {
            "batches": [asdict(b) for b in state.analytics_batches()],
            "events": state.analytics_events(),
            "keepalives": state.keepalives(),
        }
    )


async def expire_tokens(request: web.Request) -> web.Response:
    state_of(request).expire_tokens()
    return web.Response(status=204)
