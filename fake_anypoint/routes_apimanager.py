"""Public API Manager v1: API instances and applied policies (research/anypoint.md §2.2, §3.3),
plus the organization's policy templates.
"""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import ConfigDict, Field, RootModel, StrictBool, StrictStr, model_validator

from .bounded import read_json
from .faults import DataKind
from .httpkit import add, json_response, state_of
from .inputs import Text
from .listing import page
from .model import Api
from .reqmodels import (
    ApiPath,
    Body,
    IntId,
    Paging,
    PolicyPath,
    PositiveInt,
    Query,
    body,
    path,
    query,
)
from .templates import TEMPLATE_IDS, policy_templates
from .views_apim import am_api, am_asset_groups, am_policy, am_policy_full, autodiscovery_name

AM = "/apimanager/api/v1/organizations/{org}/environments/{env}"
API = AM + "/apis/{api_id}"


def register(app: web.Application) -> None:
    add(app, "GET", f"{AM}/apis", list_apis, DataKind.APIS)
    add(app, "POST", f"{AM}/apis", create_api, DataKind.APIS)
    add(app, "GET", API, get_api, DataKind.APIS)
    add(app, "PATCH", API, patch_api, DataKind.APIS)
    add(app, "DELETE", API, delete_api, DataKind.APIS)
    add(app, "GET", f"{API}/policies", list_policies, DataKind.POLICIES)
    add(app, "POST", f"{API}/policies", apply_policy, DataKind.POLICIES)
    add(app, "PATCH", f"{API}/policies", reorder_policies, DataKind.POLICIES)
    add(app, "GET", f"{API}/policies/{{policy_id}}", get_policy, DataKind.POLICIES)
    add(app, "PATCH", f"{API}/policies/{{policy_id}}", patch_policy, DataKind.POLICIES)
    add(app, "DELETE", f"{API}/policies/{{policy_id}}", delete_policy, DataKind.POLICIES)
    add(
        app,
        "GET",
        "/apimanager/api/v1/organizations/{org}/policy-templates",
        templates,
        DataKind.ASSETS,
    )


def _api(request: web.Request) -> Api:
    api_id = path(request, ApiPath).api_id
    return state_of(request).api_in(api_id, request.match_info["env"])


# -- APIs --------------------------------------------------------------------------------------


class ApiList(Paging):
    """The documented filters; ``filters=active,pinned`` keeps active (or pinned) instances."""

    groupId: str | None = None
    assetId: str | None = None
    assetVersion: str | None = None
    productVersion: str | None = None
    instanceLabel: str | None = None
    autodiscoveryInstanceName: str | None = None
    filters: str | None = None


_API_SORTS: dict[str, Any] = {
    "createdDate": lambda a: (a.created_wall, a.id),
    "updatedDate": lambda a: (a.updated_wall, a.id),
    "id": lambda a: a.id,
    "assetId": lambda a: (a.asset_id, a.id),
    "name": lambda a: (a.asset_id, a.id),
}


async def list_apis(request: web.Request) -> web.Response:
    state = state_of(request)
    q = query(request, ApiList)
    apis = state.list_apis(request.match_info["env"])
    for wanted, attr in (
        (q.groupId, "group_id"),
        (q.assetId, "asset_id"),
        (q.assetVersion, "asset_version"),
        (q.productVersion, "product_version"),
        (q.instanceLabel, "instance_label"),
    ):
        if wanted:
            apis = [a for a in apis if getattr(a, attr) == wanted]
    if q.autodiscoveryInstanceName:
        apis = [a for a in apis if autodiscovery_name(a) == q.autodiscoveryInstanceName]
    if q.filters and "active" in q.filters.split(","):
        apis = [a for a in apis if state.api_status(a) == "active"]
    if q.filters and "pinned" in q.filters.split(","):
        apis = []  # the fake pins nothing
    _, window = page(
        q,
        apis,
        _API_SORTS,
        default_sort="name",  # the spec: "Default value is name"
        default_ascending=True,
        text=lambda a: f"{a.asset_id} {a.instance_label or ''}",
    )
    assets = {(a.group_id, a.asset_id) for a in apis}  # the platform counts assets
    return json_response({"total": len(assets), "assets": am_asset_groups(state, window)})


class EndpointIn(Body):
    """``endpoint``: ``type``, ``uri`` and ``proxyUri`` are checked; the rest is kept."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: Literal["http", "raml", "http-api", "rest-api", "soap-api", "wsdl"] | None = None
    uri: StrictStr | None = None
    proxyUri: StrictStr | None = None

    def wire(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class AssetRef(Body):
    assetId: Text
    version: Text = "1.0.0"
    groupId: StrictStr | None = None


class CreateApi(Body):
    """``api-mgr api manage`` (CLI) or the SDK body: ``{spec, endpoint, instanceLabel, ...}``."""

    spec: AssetRef
    endpoint: EndpointIn | None = None
    instanceLabel: StrictStr | None = None
    productVersion: StrictStr | None = None
    technology: StrictStr | None = None
    endpointUri: StrictStr | None = None


def create_instance(request: web.Request, req: CreateApi, *, default_technology: str) -> Api:
    """The API instance ``req`` describes, in the path's environment."""
    state = state_of(request)
    api_id = state.create_api(
        req.spec.assetId,
        asset_version=req.spec.version,
        product_version=req.productVersion or "v1",
        instance_label=req.instanceLabel or None,
        env_id=request.match_info["env"],
        group_id=req.spec.groupId or state.org_id,
        technology=req.technology or default_technology,
        endpoint=req.endpoint.wire() if req.endpoint else {},
        endpoint_uri=req.endpointUri,
        services=[],
    )
    return state.api(api_id)


async def create_api(request: web.Request) -> web.Response:
    """``api-mgr api manage`` (the CLI sends no technology: Mule 4)."""
    api = create_instance(request, await body(request, CreateApi), default_technology="mule4")
    return json_response(am_api(state_of(request), api), status=201)


class ApiGet(Query):
    includeTlsContexts: bool = False


async def get_api(request: web.Request) -> web.Response:
    tls = query(request, ApiGet).includeTlsContexts
    return json_response(am_api(state_of(request), _api(request), tls=tls))


class PatchApi(Body):
    """Known fields are edited; others (read-only ones clients send back) are ignored."""

    deprecated: StrictBool | None = None
    isPublic: StrictBool | None = None
    instanceLabel: StrictStr | None = None
    assetVersion: Text | None = None
    productVersion: Text | None = None
    technology: Text | None = None
    endpointUri: StrictStr | None = None
    tags: list[Text] | None = Field(None, max_length=1000)
    endpoint: EndpointIn | None = None


_PATCH_ATTRS = {
    "deprecated": "deprecated",
    "isPublic": "is_public",
    "instanceLabel": "instance_label",
    "assetVersion": "asset_version",
    "productVersion": "product_version",
    "technology": "technology",
    "endpointUri": "endpoint_uri",
    "tags": "tags",
}
_NULLABLE = {"instanceLabel", "endpointUri"}


async def patch_api(request: web.Request) -> web.Response:
    api = _api(request)
    await apply_patch(request, api)
    return json_response(am_api(state_of(request), api))


async def apply_patch(request: web.Request, api: Api) -> None:
    """Apply a ``PatchApi`` body to ``api``."""
    state = state_of(request)
    req = await body(request, PatchApi)
    fields: dict[str, Any] = {}
    for key, attr in _PATCH_ATTRS.items():
        value = getattr(req, key)
        if key in req.model_fields_set and (value is not None or key in _NULLABLE):
            fields[attr] = value
    if req.endpoint is not None:
        fields["endpoint"] = {**api.endpoint, **req.endpoint.wire()}
    state.edit_api(api.id, **fields)


async def delete_api(request: web.Request) -> web.Response:
    api = _api(request)
    state_of(request).delete_api(api.id)
    return web.Response(status=204)


# -- policies ----------------------------------------------------------------------------------


class PolicyList(Query):
    fullInfo: bool = True


async def list_policies(request: web.Request) -> web.Response:
    """``fullInfo=false``: a top-level array (CLI); otherwise the ``{policies}`` envelope."""
    state = state_of(request)
    api = _api(request)
    policies = state.policies_of(api.id)
    if not query(request, PolicyList).fullInfo:
        return json_response([am_policy(state, p) for p in policies])
    return json_response({"policies": [am_policy_full(p) for p in policies]})


class PolicyFields(Body):
    configurationData: dict[str, Any] | None = None
    pointcutData: list[dict[str, Any]] | None = Field(None, max_length=100)
    order: PositiveInt | None = None
    disabled: StrictBool | None = None
    assetVersion: Text | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_pointcut(cls, data: Any) -> Any:
        """Some clients send one pointcut object instead of a list."""
        if isinstance(data, dict) and isinstance(data.get("pointcutData"), dict):
            data = {**data, "pointcutData": [data["pointcutData"]]}
        return data


class ApplyPolicy(PolicyFields):
    """Exchange coordinates (``assetId``, ``groupId``, ``assetVersion``) or a template id."""

    assetId: Text | None = None
    policyTemplateId: StrictStr | int | None = None
    groupId: Text | None = None
    apiVersionId: IntId | None = None

    def template_asset(self) -> str:
        if self.assetId is not None:
            return self.assetId
        template = self.policyTemplateId
        if isinstance(template, str) and template and not template.isdigit():
            return template
        if template is not None:
            tid = int(template)
            if tid not in TEMPLATE_IDS:
                raise ValueError(
                    f"policyTemplateId: {template!r} is not a known template id; "
                    "send assetId/groupId/assetVersion (Exchange coordinates) instead"
                )
            return TEMPLATE_IDS[tid]
        raise ValueError("assetId: required (or policyTemplateId), e.g. 'client-id-enforcement'")


async def apply_policy(request: web.Request) -> web.Response:
    state = state_of(request)
    api = _api(request)
    req = await body(request, ApplyPolicy)
    if req.apiVersionId is not None and req.apiVersionId != api.id:
        raise ValueError(f"apiVersionId: {req.apiVersionId!r} does not match API {api.id}")
    pid = state.apply_policy(
        api.id,
        req.template_asset(),
        req.configurationData or {},
        asset_version=req.assetVersion,
        order=req.order,
        disabled=bool(req.disabled),
        pointcut=req.pointcutData,
        group_id=req.groupId,
    )
    data = am_policy(state, state.policy(api.id, pid))
    data["policyId"] = pid
    return json_response(data, status=201)


async def get_policy(request: web.Request) -> web.Response:
    state = state_of(request)
    api = _api(request)
    return json_response(
        am_policy(state, state.policy(api.id, path(request, PolicyPath).policy_id))
    )


async def patch_policy(request: web.Request) -> web.Response:
    state = state_of(request)
    ids = path(request, PolicyPath)
    api = _api(request)
    state.policy(api.id, ids.policy_id)
    req = await body(request, PolicyFields)
    kwargs: dict[str, Any] = {
        "configuration": req.configurationData,
        "order": req.order,
        "disabled": req.disabled,
        "asset_version": req.assetVersion,
    }
    if "pointcutData" in req.model_fields_set:
        kwargs["pointcut"] = req.pointcutData
    policy = state.edit_policy(api.id, ids.policy_id, **kwargs)
    return json_response(am_policy(state, policy))


class OrderItem(Body):
    id: IntId
    order: PositiveInt


class Reorder(RootModel[list[OrderItem]]):
    """``[{id, order}, ...]`` (``api-mgr policy order``)."""


async def reorder_policies(request: web.Request) -> web.Response:
    """The CLI needs status 200 and the reordered list."""
    state = state_of(request)
    api = _api(request)
    items = Reorder.model_validate(await read_json(request)).root
    state.reorder_policies(api.id, {item.id: item.order for item in items})
    return json_response([am_policy(state, p) for p in state.policies_of(api.id)])


async def delete_policy(request: web.Request) -> web.Response:
    ids = path(request, PolicyPath)
    api = _api(request)
    state_of(request).remove_policy(api.id, ids.policy_id)
    return web.Response(status=204)


async def templates(request: web.Request) -> web.Response:
    return json_response(policy_templates())
