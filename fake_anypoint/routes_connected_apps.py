"""Access Management connected apps (the public ``connected_app`` spec): the fake's own app,
which adapters log in with, and apps created over the API, each able to get tokens.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from .faults import DataKind
from .httpkit import add, json_response, state_of
from .inputs import Text
from .model import ConnectedApp
from .reqmodels import Body, Paging, Query, body, query
from .state import ControlPlaneState

ALL = "/accounts/api/connectedApplications"
ORG = "/accounts/api/organizations/{org}/connectedApplications"


def register(app: web.Application) -> None:
    add(app, "GET", ALL, list_apps, DataKind.ACCOUNTS)
    add(app, "GET", ALL + "/{app_id}", get_app, DataKind.ACCOUNTS)
    add(app, "POST", ORG, create_app, DataKind.ACCOUNTS)
    add(app, "GET", ORG + "/{app_id}", get_app, DataKind.ACCOUNTS)
    add(app, "PATCH", ORG + "/{app_id}", patch_app, DataKind.ACCOUNTS)
    add(app, "DELETE", ORG + "/{app_id}", delete_app, DataKind.ACCOUNTS)
    add(app, "GET", ORG + "/{app_id}/scopes", get_scopes, DataKind.ACCOUNTS)
    add(app, "PUT", ORG + "/{app_id}/scopes", put_scopes, DataKind.ACCOUNTS)


def view(state: ControlPlaneState, app: ConnectedApp) -> dict[str, Any]:
    """``connectedAppRespExt``."""
    return {
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "client_name": app.name,
        "grant_types": list(app.grant_types),
        "redirect_uris": list(app.redirect_uris),
        "scopes": [s["scope"] for s in app.scopes],
        "public_keys": [],
        "client_uri": app.client_uri,
        "audience": app.audience,
        "org_id": state.org_id,
        "owner_org_id": state.org_id,
        "owner_user_id": app.owner_user_id or state.user["id"],
        "enabled": app.enabled,
    }


def _app(request: web.Request) -> ConnectedApp:
    return state_of(request).parts.org.find_connected_app(request.match_info["app_id"])


class AppList(Paging):
    search: str | None = None
    orgId: str | None = None
    includeUsage: bool = False


async def list_apps(request: web.Request) -> web.Response:
    state = state_of(request)
    q = query(request, AppList)
    apps = state.parts.org.all_connected_apps()
    if q.orgId is not None and q.orgId != state.org_id:
        apps = []
    if q.search:
        apps = [a for a in apps if q.search.lower() in a.name.lower()]
    window = apps[q.offset :] if q.limit is None else apps[q.offset : q.offset + q.limit]
    return json_response({"data": [view(state, a) for a in window], "total": len(apps)})


async def get_app(request: web.Request) -> web.Response:
    return json_response(view(state_of(request), _app(request)))


class Scope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    scope: Text
    context_params: dict[str, StrictStr] = Field(default_factory=dict)


class AppFields(Body):
    """``connectedAppCore`` / ``connectedAppPatchExt``."""

    client_name: Text | None = None
    grant_types: list[Text] | None = Field(None, max_length=20)
    redirect_uris: list[StrictStr] | None = Field(None, max_length=100)
    scopes: list[Text] | None = Field(None, max_length=200)
    client_uri: StrictStr | None = None
    audience: StrictStr | None = None
    enabled: StrictBool | None = None

    def fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "grant_types": self.grant_types,
            "redirect_uris": self.redirect_uris,
            "client_uri": self.client_uri,
            "audience": self.audience,
            "enabled": self.enabled,
        }
        if self.scopes is not None:
            out["scopes"] = [{"scope": s, "context_params": {}} for s in self.scopes]
        return out


async def create_app(request: web.Request) -> web.Response:
    state = state_of(request)
    req = await body(request, AppFields)
    if req.client_name is None:
        raise ValueError("client_name: required")
    fields = {k: v for k, v in req.fields().items() if v is not None}
    app = state.parts.org.create_connected_app(req.client_name, **fields)
    return json_response(view(state, app), status=201)


class PatchQuery(Query):
    resetSecret: bool = False


async def patch_app(request: web.Request) -> web.Response:
    state = state_of(request)
    app = _app(request)
    req = await body(request, AppFields)
    reset = query(request, PatchQuery).resetSecret
    fields = req.fields()
    if req.client_name is not None:
        fields["name"] = req.client_name
    state.parts.org.edit_connected_app(app.client_id, reset_secret=reset, **fields)
    return json_response(view(state, app))


async def delete_app(request: web.Request) -> web.Response:
    state_of(request).parts.org.delete_connected_app(_app(request).client_id)
    return web.Response(status=204)


async def get_scopes(request: web.Request) -> web.Response:
    app = _app(request)
    q = query(request, Paging)
    scopes = (
        app.scopes[q.offset :] if q.limit is None else app.scopes[q.offset : q.offset + q.limit]
    )
    return json_response({"data": [dict(s) for s in scopes], "total": len(app.scopes)})


class PutScopes(Body):
    scopes: list[Scope] = Field(max_length=200)


async def put_scopes(request: web.Request) -> web.Response:
    """204, as the spec says; the scopes replace the app's."""
    state = state_of(request)
    app = _app(request)
    req = await body(request, PutScopes)
    scopes = [s.model_dump() for s in req.scopes]
    state.parts.org.edit_connected_app(app.client_id, scopes=scopes)
    return web.Response(status=204)
