"""Exchange assets, minimal (research/anypoint.md §2.4): publish (multipart or JSON) with a
publication-status link, search, get, delete; the broker's semver check answers 400.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import StrictStr

from .faults import DataKind
from .httpkit import add, json_response, state_of
from .listing import page
from .model import Asset
from .reqmodels import Body, Paging, body, form_fields, query
from .views import iso

ORG_ASSET = "/exchange/api/v2/organizations/{org}/assets/{group}/{asset}/{version}"


def register(app: web.Application) -> None:
    add(app, "POST", ORG_ASSET, publish, DataKind.ASSETS)
    add(app, "GET", ORG_ASSET + "/publication/status/{status_id}", status, DataKind.ASSETS)
    add(app, "GET", "/exchange/api/v2/assets", search, DataKind.ASSETS)
    add(app, "GET", "/exchange/api/v2/assets/{group}/{asset}/{version}", get_asset, DataKind.ASSETS)
    add(
        app,
        "DELETE",
        "/exchange/api/v1/organizations/{org}/assets/{group}/{asset}/{version}",
        delete,
        DataKind.ASSETS,
    )


def asset_view(asset: Asset, org_id: str) -> dict[str, Any]:
    return {
        "groupId": asset.group_id,
        "assetId": asset.asset_id,
        "version": asset.version,
        "name": asset.name,
        "type": asset.type,
        "description": asset.description,
        "organizationId": org_id,
        "status": "published",
        "createdDate": iso(asset.created_wall),
    }


class AssetFields(Body):
    """Publish fields, from a multipart form or a JSON object."""

    name: StrictStr | None = None
    type: StrictStr = "rest-api"
    description: StrictStr = ""


async def _fields(request: web.Request) -> AssetFields:
    if request.content_type.startswith("multipart/") or (
        request.content_type == "application/x-www-form-urlencoded"
    ):
        return AssetFields.model_validate(await form_fields(request))
    if not await request.read():
        return AssetFields()
    return await body(request, AssetFields)


async def publish(request: web.Request) -> web.Response:
    state = state_of(request)
    m = request.match_info
    fields = await _fields(request)
    asset = state.publish_asset(
        m["group"],
        m["asset"],
        m["version"],
        name=fields.name,
        type=fields.type,
        description=fields.description,
    )
    link = (
        f"{request.scheme}://{request.host}{request.path}/publication/status/"
        f"{asset.asset_id}-{asset.version}"
    )
    return json_response({"publicationStatusLink": link}, status=202)


async def status(request: web.Request) -> web.Response:
    state = state_of(request)
    m = request.match_info
    asset = state.asset(m["group"], m["asset"], m["version"])
    return json_response(
        {
            "id": m["status_id"],
            "status": "completed",
            "steps": [{"name": "publish", "status": "completed"}],
            "asset": asset_view(asset, state.org_id),
        }
    )


async def search(request: web.Request) -> web.Response:
    """A top-level array, like Exchange's v2 search."""
    state = state_of(request)
    found = state.assets()
    orgs = {o for o in request.query.get("organizationIds", "").split(",") if o}
    if orgs and state.org_id not in orgs:
        found = [a for a in found if a.group_id in orgs]
    wanted_type = request.query.get("type")
    if wanted_type:
        found = [a for a in found if a.type == wanted_type]
    search_text = request.query.get("search", "").lower()
    if search_text:
        found = [a for a in found if search_text in f"{a.asset_id} {a.name}".lower()]
    sort_keys: dict[str, Any] = {"name": lambda a: (a.name, a.version)}
    _, window = page(query(request, Paging), found, sort_keys, default_sort="name")
    return json_response([asset_view(a, state.org_id) for a in window])


async def get_asset(request: web.Request) -> web.Response:
    state = state_of(request)
    m = request.match_info
    return json_response(
        asset_view(state.asset(m["group"], m["asset"], m["version"]), state.org_id)
    )


async def delete(request: web.Request) -> web.Response:
    m = request.match_info
    state_of(request).delete_asset(m["group"], m["asset"], m["version"])
    return web.Response(status=204)
