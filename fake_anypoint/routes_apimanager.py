"""Public API Manager v1: API instances and applied policies (research/anypoint.md §2.2, §3.3),
plus the organization's policy templates.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import checks
from .faults import DataKind
from .httpkit import add, json_response, path_int, read_json, read_object, state_of
from .listing import flag, page
from .model import Api
from .templates import TEMPLATE_IDS, policy_templates
from .views import am_api, am_asset_groups, am_policy_full, am_policy_legacy

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
    return state_of(request).api_in(path_int(request, "api_id"), request.match_info["env"])


# -- APIs --------------------------------------------------------------------------------------


async def list_apis(request: web.Request) -> web.Response:
    state = state_of(request)
    apis = state.list_apis(request.match_info["env"])
    for param, attr in (
        ("assetId", "asset_id"),
        ("productVersion", "product_version"),
        ("instanceLabel", "instance_label"),
    ):
        wanted = request.query.get(param)
        if wanted:
            apis = [a for a in apis if getattr(a, attr) == wanted]
    sort_keys: dict[str, Any] = {
        "createdDate": lambda a: (a.created_wall, a.id),
        "updatedDate": lambda a: (a.updated_wall, a.id),
        "id": lambda a: a.id,
        "assetId": lambda a: (a.asset_id, a.id),
        "name": lambda a: (a.asset_id, a.id),
    }
    total, window = page(
        request,
        apis,
        sort_keys,
        default_sort="createdDate",
        default_ascending=False,
        text=lambda a: f"{a.asset_id} {a.instance_label or ''}",
    )
    del total  # the platform counts assets, not API instances
    assets = {(a.group_id, a.asset_id) for a in apis}
    return json_response({"total": len(assets), "assets": am_asset_groups(state, window)})


def _endpoint(value: Any) -> dict[str, Any]:
    endpoint = {k: v for k, v in checks.mapping("endpoint", value).items() if v is not None}
    if "type" in endpoint and endpoint["type"] not in (
        "http",
        "raml",
        "http-api",
        "rest-api",
        "soap-api",
        "wsdl",
    ):
        raise ValueError(
            f"endpoint.type: {endpoint['type']!r} must be http-api, rest-api, soap-api or raml"
        )
    for key in ("uri", "proxyUri"):
        if endpoint.get(key) is not None and not isinstance(endpoint[key], str):
            raise ValueError(f"endpoint.{key}: {endpoint[key]!r} must be a string or null")
    return endpoint


async def create_api(request: web.Request) -> web.Response:
    """``api-mgr api manage`` (CLI) or the SDK body: ``{spec, endpoint, instanceLabel, ...}``."""
    state = state_of(request)
    body = await read_object(request)
    spec = checks.mapping("spec", body.get("spec"))
    asset_id = spec.get("assetId")
    if not isinstance(asset_id, str) or not asset_id:
        raise ValueError(f"spec.assetId: {asset_id!r} must be the Exchange asset id")
    version = spec.get("version", "1.0.0")
    if not isinstance(version, str) or not version:
        raise ValueError(f"spec.version: {version!r} must be the asset version, e.g. 1.0.0")
    group_id = spec.get("groupId") or state.org_id
    if not isinstance(group_id, str):
        raise ValueError(f"spec.groupId: {group_id!r} must be a string")
    endpoint = _endpoint(body.get("endpoint") or {})
    label = body.get("instanceLabel")
    if label is not None and not isinstance(label, str):
        raise ValueError(f"instanceLabel: {label!r} must be a string or null")
    product = body.get("productVersion") or "v1"
    technology = body.get("technology") or "mule4"
    endpoint_uri = body.get("endpointUri")
    if endpoint_uri is not None and not isinstance(endpoint_uri, str):
        raise ValueError(f"endpointUri: {endpoint_uri!r} must be a string or null")
    api_id = state.create_api(
        asset_id,
        asset_version=version,
        product_version=product,
        instance_label=label or None,
        env_id=request.match_info["env"],
        group_id=group_id,
        technology=technology,
        endpoint=endpoint,
        endpoint_uri=endpoint_uri,
        services=[],
    )
    return json_response(am_api(state, state.api(api_id)), status=201)


async def get_api(request: web.Request) -> web.Response:
    tls = flag(request, "includeTlsContexts", False)
    return json_response(am_api(state_of(request), _api(request), tls=tls))


_PATCHABLE: dict[str, tuple[str, type | tuple[type, ...]]] = {
    "deprecated": ("deprecated", bool),
    "isPublic": ("is_public", bool),
    "instanceLabel": ("instance_label", (str, type(None))),
    "assetVersion": ("asset_version", str),
    "productVersion": ("product_version", str),
    "technology": ("technology", str),
    "endpointUri": ("endpoint_uri", (str, type(None))),
    "tags": ("tags", list),
}


async def patch_api(request: web.Request) -> web.Response:
    """Edit known fields (others, e.g. read-only ones sent back by clients, are ignored)."""
    state = state_of(request)
    api = _api(request)
    body = await read_object(request)
    fields: dict[str, Any] = {}
    for key, (attr, kind) in _PATCHABLE.items():
        if key in body:
            if not isinstance(body[key], kind):
                raise ValueError(f"{key}: {body[key]!r} has the wrong type")
            fields[attr] = body[key]
    if "tags" in fields:
        fields["tags"] = checks.str_list("tags", fields["tags"])
    if "endpoint" in body and body["endpoint"] is not None:
        fields["endpoint"] = {**api.endpoint, **_endpoint(body["endpoint"])}
    state.edit_api(api.id, **fields)
    return json_response(am_api(state, api))


async def delete_api(request: web.Request) -> web.Response:
    api = _api(request)
    state_of(request).delete_api(api.id)
    return web.Response(status=204)


# -- policies ----------------------------------------------------------------------------------


async def list_policies(request: web.Request) -> web.Response:
    """``fullInfo=false``: a top-level array (CLI); otherwise the ``{policies}`` envelope."""
    state = state_of(request)
    api = _api(request)
    policies = state.policies_of(api.id)
    full = request.query.get("fullInfo")
    if full is not None and full.lower() == "false":
        return json_response([am_policy_legacy(p) for p in policies])
    return json_response({"policies": [am_policy_full(p) for p in policies]})


def _template_asset(body: dict[str, Any]) -> str:
    asset = body.get("assetId")
    if asset is not None:
        return checks.text("assetId", asset)
    template = body.get("policyTemplateId")
    if isinstance(template, str) and template and not template.isdigit():
        return template
    if template is not None:
        tid = checks.int_id("policyTemplateId", template)
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
    body = await read_object(request)
    if body.get("apiVersionId") is not None:
        given = checks.int_id("apiVersionId", body["apiVersionId"])
        if given != api.id:
            raise ValueError(f"apiVersionId: {body['apiVersionId']!r} does not match API {api.id}")
    asset = _template_asset(body)
    version = body.get("assetVersion")
    if version is not None:
        checks.text("assetVersion", version)
    group = body.get("groupId")
    if group is not None:
        checks.text("groupId", group)
    order = body.get("order")
    disabled = body.get("disabled", False)
    pid = state.apply_policy(
        api.id,
        asset,
        checks.mapping("configurationData", body.get("configurationData") or {}),
        asset_version=version,
        order=order,
        disabled=disabled,
        pointcut=_pointcut(body.get("pointcutData")),
        group_id=group,
    )
    data = am_policy_legacy(state.policy(api.id, pid))
    data["policyId"] = pid
    return json_response(data, status=201)


def _pointcut(value: Any) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    if isinstance(value, dict):  # some clients send one pointcut object
        value = [value]
    if not isinstance(value, list):
        raise ValueError(
            f"pointcutData: {value!r} must be null or [{{methodRegex, uriTemplateRegex}}]"
        )
    return value


async def patch_policy(request: web.Request) -> web.Response:
    state = state_of(request)
    api = _api(request)
    pid = path_int(request, "policy_id")
    state.policy(api.id, pid)
    body = await read_object(request)
    kwargs: dict[str, Any] = {}
    if body.get("configurationData") is not None:
        kwargs["configuration"] = checks.mapping("configurationData", body["configurationData"])
    if "pointcutData" in body:
        kwargs["pointcut"] = checks.pointcut("pointcutData", _pointcut(body["pointcutData"]))
    if body.get("order") is not None:
        kwargs["order"] = checks.positive_int("order", body["order"])
    if "disabled" in body:
        kwargs["disabled"] = checks.boolean("disabled", body["disabled"])
    if body.get("assetVersion") is not None:
        kwargs["asset_version"] = checks.text("assetVersion", body["assetVersion"])
    policy = state.edit_policy(api.id, pid, **kwargs)
    return json_response(am_policy_legacy(policy))


async def reorder_policies(request: web.Request) -> web.Response:
    """``[{id, order}, ...]`` (``api-mgr policy order``; the CLI needs status 200)."""
    state = state_of(request)
    api = _api(request)
    body = await read_json(request)
    if not isinstance(body, list):
        raise ValueError("body: expected a JSON array of {id, order}")
    orders: dict[int, int] = {}
    for i, item in enumerate(body):
        if not isinstance(item, dict):
            raise ValueError(f"body[{i}]: {item!r} must be an object {{id, order}}")
        pid = checks.int_id(f"body[{i}].id", item.get("id"))
        orders[pid] = checks.positive_int(f"body[{i}].order", item.get("order"))
    state.reorder_policies(api.id, orders)
    return json_response([am_policy_legacy(p) for p in state.policies_of(api.id)])


async def delete_policy(request: web.Request) -> web.Response:
    api = _api(request)
    state_of(request).remove_policy(api.id, path_int(request, "policy_id"))
    return web.Response(status=204)


async def templates(request: web.Request) -> web.Response:
    return json_response(policy_templates())
