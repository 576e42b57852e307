"""Client applications and contract requests: API Platform repository v2 and Exchange v2
(research/anypoint.md §2.3).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import StrictStr

from .faults import DataKind
from .httpkit import add, json_response, state_of
from .inputs import Text
from .listing import page
from .model import Application
from .reqmodels import AppPath, Body, IntId, Paging, body, path, query
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
    return state_of(request).application(path(request, AppPath).app_id)


async def list_applications(request: web.Request) -> web.Response:
    state = state_of(request)
    sort_keys: dict[str, Any] = {"id": lambda a: a.id, "name": lambda a: (a.name, a.id)}
    total, window = page(
        query(request, Paging),
        list(state.applications.values()),
        sort_keys,
        default_sort="id",
        text=lambda a: f"{a.name} {a.client_id}",
    )
    return json_response(
        {"total": total, "applications": [application(a, state.org_id) for a in window]}
    )


class CreateApplication(Body):
    name: Text
    description: StrictStr | None = None
    clientId: Text | None = None
    clientSecret: Text | None = None


async def create_application(request: web.Request) -> web.Response:
    state = state_of(request)
    req = await body(request, CreateApplication)
    app = state.create_application(
        req.name, req.clientId, req.clientSecret, description=req.description or ""
    )
    return json_response(application(app, state.org_id), status=201)


async def get_application(request: web.Request) -> web.Response:
    return json_response(application(_app(request), state_of(request).org_id))


class PatchApplication(Body):
    name: Text | None = None
    description: StrictStr | None = None


async def patch_application(request: web.Request) -> web.Response:
    state = state_of(request)
    app = _app(request)
    req = await body(request, PatchApplication)
    state.edit_application(app.id, name=req.name, description=req.description)
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


class RequestContract(Body):
    """Exchange contract request ``{apiId, requestedTierId?, environmentId?, ...}``."""

    apiId: IntId
    environmentId: Text | None = None
    requestedTierId: IntId | None = None
    tierId: IntId | None = None


async def request_contract(request: web.Request) -> web.Response:
    """Auto-approved unless the tier needs approval."""
    state = state_of(request)
    app = _app(request)
    req = await body(request, RequestContract)
    if req.environmentId is not None:
        state.api_in(req.apiId, req.environmentId)
    tier = req.requestedTierId if req.requestedTierId is not None else req.tierId
    cid = state.create_contract(req.apiId, app.id, tier)
    return json_response(am_contract(state, state.contract(req.apiId, cid)), status=201)


async def reset_secret(request: web.Request) -> web.Response:
    state = state_of(request)
    app = state.reset_application_secret(_app(request).id)
    return json_response(application(app, state.org_id), status=201)
