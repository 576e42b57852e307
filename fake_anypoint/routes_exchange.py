"""Client applications and contract requests: API Platform repository v2 and Exchange v2
(research/anypoint.md §2.3).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import checks
from .faults import DataKind
from .httpkit import add, json_response, path_int, read_object, state_of
from .listing import page
from .model import Application
from .views import am_contract, application

REPO = "/apiplatform/repository/v2/organizations/{org}/applications"
EXCHANGE = "/exchange/api/v2/organizations/{org}/applications"


def register(app: web.Application) -> None:
    for base in (REPO, EXCHANGE):
        add(app, "GET", base, list_applications, DataKind.APPLICATIONS)
        add(app, "POST", base, create_application, DataKind.APPLICATIONS)
        add(app, "GET", base + "/{app_id}", get_application, DataKind.APPLICATIONS)
        add(app, "PATCH", base + "/{app_id}", patch_application, DataKind.APPLICATIONS)
        add(app, "PUT", base + "/{app_id}", patch_application, DataKind.APPLICATIONS)
        add(app, "DELETE", base + "/{app_id}", delete_application, DataKind.APPLICATIONS)
    add(app, "GET", EXCHANGE + "/{app_id}/contracts", list_app_contracts, DataKind.CONTRACTS)
    add(app, "POST", EXCHANGE + "/{app_id}/contracts", request_contract, DataKind.CONTRACTS)
    add(app, "POST", EXCHANGE + "/{app_id}/secret/reset", reset_secret, DataKind.APPLICATIONS)


def _app(request: web.Request) -> Application:
    return state_of(request).application(path_int(request, "app_id"))


async def list_applications(request: web.Request) -> web.Response:
    state = state_of(request)
    sort_keys: dict[str, Any] = {"id": lambda a: a.id, "name": lambda a: (a.name, a.id)}
    total, window = page(
        request,
        list(state.applications.values()),
        sort_keys,
        default_sort="id",
        text=lambda a: f"{a.name} {a.client_id}",
    )
    return json_response(
        {"total": total, "applications": [application(a, state.org_id) for a in window]}
    )


async def create_application(request: web.Request) -> web.Response:
    state = state_of(request)
    body = await read_object(request)
    description = body.get("description") or ""
    if not isinstance(description, str):
        raise ValueError(f"description: {description!r} must be a string")
    client_id = body.get("clientId")
    client_secret = body.get("clientSecret")
    app = state.create_application(
        checks.text("name", body.get("name")), client_id, client_secret, description=description
    )
    return json_response(application(app, state.org_id), status=201)


async def get_application(request: web.Request) -> web.Response:
    return json_response(application(_app(request), state_of(request).org_id))


async def patch_application(request: web.Request) -> web.Response:
    state = state_of(request)
    app = _app(request)
    body = await read_object(request)
    name = body.get("name")
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        raise ValueError(f"description: {description!r} must be a string")
    state.edit_application(app.id, name=name, description=description)
    return json_response(application(app, state.org_id))


async def delete_application(request: web.Request) -> web.Response:
    state_of(request).delete_application(_app(request).id)
    return web.Response(status=204)


async def list_app_contracts(request: web.Request) -> web.Response:
    state = state_of(request)
    app = _app(request)
    found = [
        c
        for c in sorted(state.contracts.values(), key=lambda c: c.id)
        if c.application_id == app.id and not c.deleted
    ]
    return json_response([am_contract(state, c) for c in found])


async def request_contract(request: web.Request) -> web.Response:
    """Exchange contract request ``{apiId, requestedTierId?, ...}`` (auto-approve per tier)."""
    state = state_of(request)
    app = _app(request)
    body = await read_object(request)
    if body.get("apiId") is None:
        raise ValueError("apiId: required (the API instance id)")
    api_id = checks.int_id("apiId", body["apiId"])
    env = body.get("environmentId")
    if env is not None:
        state.api_in(api_id, checks.text("environmentId", env))
    tier_raw = body.get("requestedTierId", body.get("tierId"))
    tier = checks.int_id("requestedTierId", tier_raw) if tier_raw is not None else None
    cid = state.create_contract(api_id, app.id, tier)
    return json_response(am_contract(state, state.contract(api_id, cid)), status=201)


async def reset_secret(request: web.Request) -> web.Response:
    state = state_of(request)
    app = state.reset_application_secret(_app(request).id)
    return json_response(application(app, state.org_id), status=201)
