"""Public API Manager v1: contracts and SLA tiers of an API instance (research/anypoint.md §2.2)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import checks
from .faults import DataKind
from .httpkit import add, json_response, path_int, read_object, state_of
from .listing import page
from .model import CONTRACT_STATUSES, Api, Contract, Tier
from .views import am_contract, am_tier

API = "/apimanager/api/v1/organizations/{org}/environments/{env}/apis/{api_id}"


def register(app: web.Application) -> None:
    add(app, "GET", f"{API}/contracts", list_contracts, DataKind.CONTRACTS)
    add(app, "POST", f"{API}/contracts", create_contract, DataKind.CONTRACTS)
    add(app, "GET", f"{API}/contracts/{{contract_id}}", get_contract, DataKind.CONTRACTS)
    add(app, "PATCH", f"{API}/contracts/{{contract_id}}", patch_contract, DataKind.CONTRACTS)
    add(app, "DELETE", f"{API}/contracts/{{contract_id}}", delete_contract, DataKind.CONTRACTS)
    add(app, "GET", f"{API}/tiers", list_tiers, DataKind.TIERS)
    add(app, "POST", f"{API}/tiers", create_tier, DataKind.TIERS)
    add(app, "GET", f"{API}/tiers/{{tier_id}}", get_tier, DataKind.TIERS)
    add(app, "PATCH", f"{API}/tiers/{{tier_id}}", patch_tier, DataKind.TIERS)
    add(app, "PUT", f"{API}/tiers/{{tier_id}}", patch_tier, DataKind.TIERS)
    add(app, "DELETE", f"{API}/tiers/{{tier_id}}", delete_tier, DataKind.TIERS)


def _api(request: web.Request) -> Api:
    return state_of(request).api_in(path_int(request, "api_id"), request.match_info["env"])


# -- contracts ---------------------------------------------------------------------------------


async def list_contracts(request: web.Request) -> web.Response:
    state = state_of(request)
    api = _api(request)
    contracts = state.contracts_of(api.id)
    client_id = request.query.get("coreServicesId")
    if client_id:
        contracts = [
            c
            for c in contracts
            if (app := state.applications.get(c.application_id)) and app.client_id == client_id
        ]

    def text(c: Contract) -> str:
        app = state.applications.get(c.application_id)
        return f"{app.name} {app.client_id}" if app else ""

    def app_name(c: Contract) -> tuple[str, int]:
        app = state.applications.get(c.application_id)
        return (app.name if app else "", c.id)

    sort_keys: dict[str, Any] = {
        "id": lambda c: c.id,
        "status": lambda c: (c.status, c.id),
        "createdDate": lambda c: (c.created_wall, c.id),
        "updatedDate": lambda c: (c.updated_wall, c.id),
        "applicationName": app_name,
        "name": app_name,
    }
    total, window = page(request, contracts, sort_keys, default_sort="id", text=text)
    return json_response({"total": total, "contracts": [am_contract(state, c) for c in window]})


async def create_contract(request: web.Request) -> web.Response:
    """``{applicationId, tierId?}``: PENDING when the tier needs approval, else APPROVED."""
    state = state_of(request)
    api = _api(request)
    body = await read_object(request)
    if body.get("applicationId") is None:
        raise ValueError("applicationId: required (the client application's id)")
    app_id = checks.int_id("applicationId", body["applicationId"])
    tier_raw = body.get("tierId", body.get("requestedTierId"))
    tier_id = checks.int_id("tierId", tier_raw) if tier_raw is not None else None
    cid = state.create_contract(api.id, app_id, tier_id)
    return json_response(am_contract(state, state.contract(api.id, cid)), status=201)


async def get_contract(request: web.Request) -> web.Response:
    state = state_of(request)
    api = _api(request)
    return json_response(
        am_contract(state, state.contract(api.id, path_int(request, "contract_id")))
    )


async def patch_contract(request: web.Request) -> web.Response:
    state = state_of(request)
    api = _api(request)
    cid = path_int(request, "contract_id")
    state.contract(api.id, cid)
    body = await read_object(request)
    status = body.get("status")
    if status not in CONTRACT_STATUSES:
        raise ValueError(f"status: {status!r} must be one of {', '.join(CONTRACT_STATUSES)}")
    contract = state.set_contract_status(api.id, cid, status)
    return json_response(am_contract(state, contract))


async def delete_contract(request: web.Request) -> web.Response:
    api = _api(request)
    state_of(request).delete_contract(api.id, path_int(request, "contract_id"))
    return web.Response(status=204)


# -- tiers -------------------------------------------------------------------------------------


async def list_tiers(request: web.Request) -> web.Response:
    state = state_of(request)
    api = _api(request)
    sort_keys: dict[str, Any] = {
        "id": lambda t: t.id,
        "name": lambda t: (t.name, t.id),
        "createdDate": lambda t: (t.created_wall, t.id),
        "updatedDate": lambda t: (t.updated_wall, t.id),
    }
    total, window = page(
        request,
        state.tiers_of(api.id),
        sort_keys,
        default_sort="id",
        text=lambda t: f"{t.name} {t.description}",
    )
    return json_response({"total": total, "tiers": [am_tier(state, t) for t in window]})


def _tier_fields(body: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if creating or "name" in body:
        out["name"] = checks.text("name", body.get("name"))
    if "limits" in body or creating:
        out["limits"] = checks.limits("limits", body.get("limits"))
    if "autoApprove" in body:
        out["auto_approve"] = checks.boolean("autoApprove", body["autoApprove"])
    if body.get("description") is not None:
        if not isinstance(body["description"], str):
            raise ValueError(f"description: {body['description']!r} must be a string")
        out["description"] = body["description"]
    status = body.get("status", "ACTIVE")
    if status not in ("ACTIVE", "DEPRECATED"):
        raise ValueError(f"status: {status!r} must be ACTIVE or DEPRECATED")
    return out


async def create_tier(request: web.Request) -> web.Response:
    state = state_of(request)
    api = _api(request)
    body = await read_object(request)
    if body.get("apiVersionId") is not None:
        given = checks.int_id("apiVersionId", body["apiVersionId"])
        if given != api.id:
            raise ValueError(f"apiVersionId: {body['apiVersionId']!r} does not match API {api.id}")
    fields = _tier_fields(body, creating=True)
    tid = state.add_tier(
        api.id,
        fields["name"],
        fields["limits"],
        fields.get("auto_approve", False),
        description=fields.get("description", ""),
    )
    return json_response(am_tier(state, state.tier(api.id, tid)), status=201)


def _tier(request: web.Request, api: Api) -> Tier:
    return state_of(request).tier(api.id, path_int(request, "tier_id"))


async def get_tier(request: web.Request) -> web.Response:
    api = _api(request)
    return json_response(am_tier(state_of(request), _tier(request, api)))


async def patch_tier(request: web.Request) -> web.Response:
    state = state_of(request)
    api = _api(request)
    tier = _tier(request, api)
    fields = _tier_fields(await read_object(request), creating=False)
    state.edit_tier(api.id, tier.id, **fields)
    return json_response(am_tier(state, tier))


async def delete_tier(request: web.Request) -> web.Response:
    api = _api(request)
    state_of(request).delete_tier(api.id, _tier(request, api).id)
    return web.Response(status=204)
