"""Public API Manager v1: contracts and SLA tiers of an API instance (research/anypoint.md §2.2)."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import Field, StrictBool, StrictStr, model_validator

from .faults import DataKind
from .httpkit import add, json_response, state_of
from .inputs import Text, WireLimit
from .listing import page
from .model import Api, Contract, Tier
from .reqmodels import ApiPath, Body, ContractPath, IntId, Paging, TierPath, body, path, query
from .views_apim import am_contract, am_tier

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
    add(app, "PUT", f"{API}/tiers/{{tier_id}}", put_tier, DataKind.TIERS)
    add(app, "DELETE", f"{API}/tiers/{{tier_id}}", delete_tier, DataKind.TIERS)


def _api(request: web.Request) -> Api:
    api_id = path(request, ApiPath).api_id
    return state_of(request).api_in(api_id, request.match_info["env"])


# -- contracts ---------------------------------------------------------------------------------


class ContractList(Paging):
    coreServicesId: str | None = None
    status: str | None = None
    order: str | None = None
    includeExtraApplicationData: bool = False


async def list_contracts(request: web.Request) -> web.Response:
    state = state_of(request)
    api = _api(request)
    q = query(request, ContractList)
    contracts = state.contracts_of(api.id)
    if q.status:
        wanted = {x.strip().upper() for x in q.status.split(",")}
        contracts = [c for c in contracts if c.status in wanted]
    client_id = q.coreServicesId
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
    total, window = page(q, contracts, sort_keys, default_sort="id", text=text)
    return json_response({"total": total, "contracts": [am_contract(state, c) for c in window]})


class CreateContract(Body):
    """``{applicationId, tierId?}`` (``requestedTierId`` is accepted for ``tierId``)."""

    applicationId: IntId
    tierId: IntId | None = None
    requestedTierId: IntId | None = None


async def create_contract(request: web.Request) -> web.Response:
    """PENDING when the tier needs approval, else APPROVED."""
    state = state_of(request)
    api = _api(request)
    req = await body(request, CreateContract)
    tier_id = req.tierId if req.tierId is not None else req.requestedTierId
    cid = state.create_contract(api.id, req.applicationId, tier_id)
    return json_response(am_contract(state, state.contract(api.id, cid)))  # the spec: 200


async def get_contract(request: web.Request) -> web.Response:
    state = state_of(request)
    api = _api(request)
    return json_response(
        am_contract(state, state.contract(api.id, path(request, ContractPath).contract_id))
    )


class PatchContract(Body):
    """The spec's ``{requestedTierId, tierId}``; ``status`` is also taken (the kit's earlier
    way to approve or revoke; the platform's is ``POST …/{approve|revoke|...}``)."""

    requestedTierId: IntId | None = None
    tierId: IntId | None = None
    status: Literal["APPROVED", "PENDING", "REVOKED", "REJECTED"] | None = None

    @model_validator(mode="after")
    def _something(self) -> PatchContract:
        if self.requestedTierId is None and self.tierId is None and self.status is None:
            raise ValueError("send tierId or requestedTierId (or status)")
        return self


async def patch_contract(request: web.Request) -> web.Response:
    state = state_of(request)
    api = _api(request)
    cid = path(request, ContractPath).contract_id
    state.contract(api.id, cid)
    req = await body(request, PatchContract)
    for tier_id in (req.tierId, req.requestedTierId):
        if tier_id is not None:
            state.tier(api.id, tier_id)  # 404 before anything changes
    contract = state.contract(api.id, cid)
    if req.tierId is not None:
        contract = state.parts.deals.change_tier(api.id, cid, req.tierId, request=False)
    elif req.requestedTierId is not None:
        contract = state.parts.deals.change_tier(api.id, cid, req.requestedTierId, request=True)
    if req.status is not None:
        contract = state.set_contract_status(api.id, cid, req.status)
    return json_response(am_contract(state, contract))


async def delete_contract(request: web.Request) -> web.Response:
    api = _api(request)
    state_of(request).delete_contract(api.id, path(request, ContractPath).contract_id)
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
        query(request, Paging),
        state.tiers_of(api.id),
        sort_keys,
        default_sort="id",
        text=lambda t: f"{t.name} {t.description}",
    )
    return json_response({"total": total, "tiers": [am_tier(state, t) for t in window]})


class TierFields(Body):
    name: Text | None = None
    limits: list[WireLimit] | None = Field(None, min_length=1, max_length=100)
    autoApprove: StrictBool | None = None
    description: StrictStr | None = None
    status: Literal["ACTIVE", "DEPRECATED"] = "ACTIVE"
    apiVersionId: IntId | None = None

    def edits(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "description": self.description}
        if self.limits is not None:
            out["limits"] = [limit.model_dump() for limit in self.limits]
        if self.autoApprove is not None:
            out["auto_approve"] = self.autoApprove
        return out


class CreateTier(TierFields):
    name: Text
    limits: list[WireLimit] = Field(min_length=1, max_length=100)


async def create_tier(request: web.Request) -> web.Response:
    state = state_of(request)
    api = _api(request)
    req = await body(request, CreateTier)
    if req.apiVersionId is not None and req.apiVersionId != api.id:
        raise ValueError(f"apiVersionId: {req.apiVersionId!r} does not match API {api.id}")
    tid = state.add_tier(
        api.id,
        req.name,
        [limit.model_dump() for limit in req.limits],
        bool(req.autoApprove),
        description=req.description or "",
    )
    return json_response(am_tier(state, state.tier(api.id, tid)), status=201)


def _tier(request: web.Request, api: Api) -> Tier:
    return state_of(request).tier(api.id, path(request, TierPath).tier_id)


async def get_tier(request: web.Request) -> web.Response:
    api = _api(request)
    return json_response(am_tier(state_of(request), _tier(request, api)))


async def patch_tier(request: web.Request) -> web.Response:
    state = state_of(request)
    api = _api(request)
    tier = _tier(request, api)
    req = await body(request, TierFields)
    state.edit_tier(api.id, tier.id, **req.edits())
    return json_response(am_tier(state, tier))


async def put_tier(request: web.Request) -> web.Response:
    """``SlaTierPutBody``; the spec answers 201."""
    response = await patch_tier(request)
    response.set_status(201)
    return response


async def delete_tier(request: web.Request) -> web.Response:
    api = _api(request)
    state_of(request).delete_tier(api.id, _tier(request, api).id)
    return web.Response(status=204)
