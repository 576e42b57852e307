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
from .reqmodels import AppPath, Body, IntId, Paging, Query, body, path, query
from .views_apim import am_contract, app_contract, application

REPO = "/apiplatform/repository/v2/organizations/{org}/applications"
EXCHANGE = "/exchange/api/v2/organizations/{org}/applications"


def register(app: web.Application) -> None:
    add(app, "GET", REPO, list_applications, DataKind.APPLICATIONS)
    add(app, "GET", EXCHANGE, list_exchange_applications, DataKind.APPLICATIONS)
    for base in (REPO, EXCHANGE):
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


def _page(request: web.Request) -> tuple[int, list[Application]]:
    state = state_of(request)
    sort_keys: dict[str, Any] = {"id": lambda a: a.id, "name": lambda a: (a.name, a.id)}
    return page(
        query(request, AppList),
        list(state.applications.values()),
        sort_keys,
        default_sort="id",
        text=lambda a: f"{a.name} {a.client_id} {a.description}",
    )


class AppList(Paging):
    targetAdminSite: bool = False


async def list_applications(request: web.Request) -> web.Response:
    """API Platform repository v2: ``{total, applications}``."""
    org_id = state_of(request).org_id
    total, window = _page(request)
    return json_response({"total": total, "applications": [application(a, org_id) for a in window]})


async def list_exchange_applications(request: web.Request) -> web.Response:
    """Exchange v2: a top-level array (``clientAppList``)."""
    org_id = state_of(request).org_id
    _, window = _page(request)
    return json_response([application(a, org_id) for a in window])


class CreateApplication(Body):
    """``postExchangeAppsBody`` (``clientId``/``clientSecret`` also taken: the kit's seeds)."""

    name: Text
    description: StrictStr | None = None
    clientId: Text | None = None
    clientSecret: Text | None = None
    url: StrictStr | None = None


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


class AppContracts(Query):
    includeContractsForApiVersion: int | None = None


async def list_app_contracts(request: web.Request) -> web.Response:
    """A top-level array (``clientAppContractList``); 200 where the spec says 204 with a body."""
    state = state_of(request)
    app = _app(request)
    only = query(request, AppContracts).includeContractsForApiVersion
    found = [
        c
        for c in sorted(state.contracts.values(), key=lambda c: c.id)
        if c.application_id == app.id and not c.deleted and (only is None or c.api_id == only)
    ]
    return json_response([app_contract(state, c) for c in found])


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
