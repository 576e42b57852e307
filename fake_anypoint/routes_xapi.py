"""API Manager's experience API (``/apimanager/xapi/v1``) and what the CLI reads besides:
create and patch API instances, an instance's Exchange asset, policy enable/disable, contract
actions, the organization's Exchange policy templates, automated policies, and the Exchange
Graph API queries behind ``api-mgr policy list -m`` and ``policy describe``.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from aiohttp import web
from pydantic import Field, StrictStr

from .faults import DataKind
from .httpkit import add, json_response, state_of
from .inputs import Text
from .model import Api, NotFoundError
from .reqmodels import (
    ApiPath,
    Body,
    ContractPath,
    PolicyPath,
    PositiveInt,
    Query,
    body,
    path,
    query,
)
from .routes_apimanager import CreateApi, EndpointIn, apply_patch, create_instance
from .templates import definition_yaml, exchange_template, find_template, policy_templates
from .views_apim import am_api, am_api_asset, am_automated, am_contract, am_policy

XAPI = "/apimanager/xapi/v1/organizations/{org}"
XENV = XAPI + "/environments/{env}"
XAPI_API = XENV + "/apis/{api_id}"
ORG_AM = "/apimanager/api/v1/organizations/{org}"
GRAPH = "/graph/api/v2/graphql"
DEFINITION = "/exchange/api/v2/assets/{group}/{asset}/{version}/policy-definition.yaml"


def register(app: web.Application) -> None:
    add(app, "POST", f"{XENV}/apis", post_instance, DataKind.APIS)
    add(app, "PATCH", XAPI_API, patch_instance, DataKind.APIS)
    add(app, "GET", f"{XAPI_API}/apiAsset", api_asset, DataKind.APIS)
    add(app, "POST", f"{XAPI_API}/policies/{{policy_id}}/enable", enable, DataKind.POLICIES)
    add(app, "POST", f"{XAPI_API}/policies/{{policy_id}}/disable", disable, DataKind.POLICIES)
    add(app, "POST", f"{XAPI_API}/contracts/{{contract_id}}/{{action}}", action, DataKind.CONTRACTS)
    add(app, "GET", f"{XAPI}/exchange-policy-templates", exchange_templates, DataKind.ASSETS)
    add(
        app,
        "GET",
        f"{XAPI}/exchange-policy-templates/{{group}}/{{asset}}/{{version}}",
        exchange_template_detail,
        DataKind.ASSETS,
    )
    add(app, "GET", f"{ORG_AM}/policy-templates/{{template}}", template_detail, DataKind.ASSETS)
    add(app, "GET", f"{ORG_AM}/custom-policy-templates", custom_templates, DataKind.ASSETS)
    add(app, "GET", f"{ORG_AM}/automated-policies", list_automated, DataKind.POLICIES)
    add(app, "POST", f"{ORG_AM}/automated-policies", create_automated, DataKind.POLICIES)
    add(
        app,
        "DELETE",
        f"{ORG_AM}/automated-policies/{{automated_id}}",
        delete_automated,
        DataKind.POLICIES,
    )
    add(app, "POST", GRAPH, graph, DataKind.ASSETS, auth=False)  # the token is a variable
    add(app, "GET", DEFINITION, definition, DataKind.ASSETS, auth=False)


def _api(request: web.Request) -> Api:
    return state_of(request).api_in(path(request, ApiPath).api_id, request.match_info["env"])


# -- API instances -----------------------------------------------------------------------------


class PostInstance(CreateApi):
    """``ApimInstancePostBody``: ``technology`` one of the spec's four."""

    technology: Literal["flexGateway", "mule3", "mule4", "serviceMesh"] | None = None
    endpoint: EndpointIn | None = None


async def post_instance(request: web.Request) -> web.Response:
    req = await body(request, PostInstance)
    state = state_of(request)
    api = create_instance(request, req, default_technology="flexGateway")
    return json_response(am_api(state, api), status=201)


async def patch_instance(request: web.Request) -> web.Response:
    api = _api(request)
    await apply_patch(request, api)
    return json_response(am_api(state_of(request), api))


async def api_asset(request: web.Request) -> web.Response:
    api = _api(request)
    return json_response(am_api_asset(state_of(request), [api]))


# -- policies ----------------------------------------------------------------------------------


async def _set_disabled(request: web.Request, disabled: bool) -> web.Response:
    state = state_of(request)
    api = _api(request)
    policy = state.set_policy_disabled(api.id, path(request, PolicyPath).policy_id, disabled)
    return json_response(am_policy(state, policy), status=201)


async def enable(request: web.Request) -> web.Response:
    return await _set_disabled(request, False)


async def disable(request: web.Request) -> web.Response:
    return await _set_disabled(request, True)


class ActionPath(ContractPath):
    action: Literal["approve", "reject", "revoke", "restore"]


async def action(request: web.Request) -> web.Response:
    """``approve|reject|revoke|restore`` a contract: 201 with the contract; 409 when its status
    does not allow the action."""
    state = state_of(request)
    p = path(request, ActionPath)
    api = _api(request)
    contract = state.parts.deals.contract_action(api.id, p.contract_id, p.action)
    return json_response(am_contract(state, contract), status=201)


# -- templates ---------------------------------------------------------------------------------


class TemplateQuery(Query):
    environmentId: str | None = None
    apiInstanceId: str | None = None
    automatedOnly: bool = False
    latest: bool = True
    includeConfiguration: bool = True
    splitModel: bool = False
    injectionPoint: Literal["inbound", "outbound"] | None = None


async def exchange_templates(request: web.Request) -> web.Response:
    """A top-level array; ``injectionPoint=outbound`` lists none (the kit's are inbound)."""
    state = state_of(request)
    q = query(request, TemplateQuery)
    if q.environmentId is not None:
        state.environment(q.environmentId)
    if q.injectionPoint == "outbound":
        return json_response([])
    out = []
    for template in policy_templates():
        item = exchange_template(template, state.org_id)
        if not q.includeConfiguration:
            item.pop("configuration")
        out.append(item)
    return json_response(out)


async def exchange_template_detail(request: web.Request) -> web.Response:
    m = request.match_info
    template = find_template(m["asset"])
    if m["version"] != template["assetVersion"] or m["group"] != exchange_template(
        template, ""
    ).get("groupId"):
        raise NotFoundError(f"policy template {m['group']}/{m['asset']}/{m['version']} not found")
    return json_response(exchange_template(template, state_of(request).org_id))


async def template_detail(request: web.Request) -> web.Response:
    """One template by id or asset id (``api-mgr policy describe NAME``)."""
    return json_response(find_template(request.match_info["template"]))


async def custom_templates(request: web.Request) -> web.Response:
    """The fake has no custom policy templates."""
    return json_response({"total": 0, "customPolicyTemplates": []})


# -- automated policies ------------------------------------------------------------------------


class AutomatedQuery(Query):
    environmentId: str | None = None


async def list_automated(request: web.Request) -> web.Response:
    state = state_of(request)
    env = query(request, AutomatedQuery).environmentId
    found = state.parts.catalog.automated_policies(env)
    return json_response(
        {"automatedPolicies": [am_automated(state, p) for p in found], "total": len(found)}
    )


class CreateAutomated(Body):
    """A kit extension beyond the spec (which only lists them): the platform's create body."""

    assetId: Text
    assetVersion: Text | None = None
    groupId: Text | None = None
    configurationData: dict[str, Any] = Field(default_factory=dict)
    pointcutData: list[dict[str, Any]] | None = Field(None, max_length=100)
    order: PositiveInt = 1
    disabled: bool = False
    ruleOfApplication: dict[str, StrictStr]


async def create_automated(request: web.Request) -> web.Response:
    state = state_of(request)
    req = await body(request, CreateAutomated)
    env = req.ruleOfApplication.get("environmentId")
    if not env:
        raise ValueError("ruleOfApplication.environmentId: required")
    policy = state.parts.catalog.add_automated_policy(
        env,
        req.assetId,
        req.configurationData,
        asset_version=req.assetVersion,
        group_id=req.groupId,
        order=req.order,
        disabled=req.disabled,
        cut=req.pointcutData,
    )
    return json_response(am_automated(state, policy), status=201)


class AutomatedPath(Query):
    automated_id: int = Field(ge=0)


async def delete_automated(request: web.Request) -> web.Response:
    state_of(request).parts.catalog.remove_automated_policy(
        path(request, AutomatedPath).automated_id
    )
    return web.Response(status=204)


# -- Exchange Graph API ------------------------------------------------------------------------


class GraphQuery(Body):
    query: StrictStr = Field(max_length=100_000)
    variables: dict[str, Any] | None = None


_ASSET = re.compile(r"\basset\s*\(")
_ASSETS = re.compile(r"\bassets\s*\(")


async def graph(request: web.Request) -> web.Response:
    """The two Graph API queries ``api-mgr`` sends: policy assets (``policy list -m``) and one
    asset with its files (``policy describe --policyVersion``); others are GraphQL errors. The
    CLI sends its token as the ``accessToken`` variable, not as a header."""
    req = await body(request, GraphQuery)
    token = (req.variables or {}).get("accessToken")
    header = request.headers.get("Authorization") or (f"Bearer {token}" if token else None)
    state_of(request).records.check_token(header)  # 401 without a usable token
    base = f"{request.scheme}://{request.host}"
    if _ASSETS.search(req.query) and "policy" in req.query:
        assets = [
            {
                "groupId": t["groupId"],
                "assetId": t["assetId"],
                "version": t["version"],
                "name": t["name"],
                "description": t["description"],
                "__typename": "Asset",
            }
            for t in (exchange_template(x, "") for x in policy_templates())
        ]
        return json_response({"data": {"assets": assets}})
    if _ASSET.search(req.query):
        v = req.variables or {}
        gav = f"{v.get('groupId')}/{v.get('assetId')}/{v.get('version')}"
        # A GraphQL error, not a null asset: anypoint-cli-v4 1.6.12 crashes on a null asset
        # (its "not found" error is caught as if it were a GraphQL error).
        missing = {"data": None, "errors": [{"message": f"asset {gav} not found"}]}
        try:
            item = exchange_template(find_template(str(v.get("assetId"))), "")
        except NotFoundError:
            return json_response(missing)
        if (item["groupId"], item["version"]) != (v.get("groupId"), v.get("version")):
            return json_response(missing)
        link = base + DEFINITION.format(
            group=item["groupId"], asset=item["assetId"], version=item["version"]
        )
        asset = {
            "name": item["name"],
            "description": item["description"],
            "assetId": item["assetId"],
            "files": [
                {"classifier": "policy-definition", "externalLink": link, "__typename": "File"}
            ],
            "__typename": "Asset",
        }
        return json_response({"data": {"asset": asset}})
    return json_response({"data": None, "errors": [{"message": "query not supported by the fake"}]})


async def definition(request: web.Request) -> web.Response:
    template = find_template(request.match_info["asset"])
    return web.Response(text=definition_yaml(template), content_type="application/yaml")
