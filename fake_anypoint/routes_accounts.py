"""Access Management: token endpoints, user login, ``me``, organizations and environments,
plus the CLI telemetry sink (research/anypoint.md §2.1, §3.2).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .bounded import loads
from .faults import DataKind
from .httpkit import add, error, json_response, state_of
from .model import Token
from .records import AuthError
from .reqmodels import form_fields
from .state import ControlPlaneState

ORG = "/accounts/api/organizations/{org}"


def register(app: web.Application) -> None:
    add(app, "POST", "/accounts/api/v2/oauth2/token", token, DataKind.TOKEN, auth=False)
    add(app, "POST", "/accounts/oauth2/token", token, DataKind.TOKEN, auth=False)
    add(app, "POST", "/accounts/login", login, DataKind.TOKEN, auth=False)
    add(app, "GET", "/accounts/api/me", me, DataKind.ACCOUNTS)
    add(app, "GET", "/accounts/api/users/me", users_me, DataKind.ACCOUNTS)
    add(app, "POST", "/cli/api/v1/analytics/event", telemetry, DataKind.CLI, auth=False)
    add(app, "POST", "/cli/api/v1/analytics/error", telemetry, DataKind.CLI, auth=False)


async def _form_or_json(request: web.Request) -> dict[str, Any]:
    """Token/login bodies come as JSON or as a urlencoded form."""
    ctype = request.content_type
    if ctype == "application/x-www-form-urlencoded" or ctype == "multipart/form-data":
        return await form_fields(request)
    raw = await request.read()
    if not raw:
        raise ValueError("body: empty; send JSON {client_id, client_secret, grant_type}")
    data = loads(raw)
    if not isinstance(data, dict):
        raise ValueError(f"body: expected a JSON object, got {type(data).__name__}")
    return data


def _token_body(state: ControlPlaneState, tok: Token) -> dict[str, Any]:
    return {
        "access_token": tok.value,
        "token_type": "bearer",
        "expires_in": int(state.token_ttl_s),
    }


async def token(request: web.Request) -> web.Response:
    state = state_of(request)
    body = await _form_or_json(request)
    grant = body.get("grant_type", "client_credentials")
    if grant != "client_credentials":
        raise ValueError(f"grant_type: {grant!r} is not supported; use client_credentials")
    try:
        tok = state.issue_token(body.get("client_id"), body.get("client_secret"))
    except AuthError as exc:
        return error(401, str(exc))
    return json_response(_token_body(state, tok))


async def login(request: web.Request) -> web.Response:
    """User login. Never answers ``url`` + ``body`` (the CLI would start its MFA browser)."""
    state = state_of(request)
    body = await _form_or_json(request)
    try:
        tok = state.records.login_user(body.get("username"), body.get("password"))
    except AuthError as exc:
        return error(401, str(exc))
    data = _token_body(state, tok)
    data["token_type"] = "Bearer"
    data["redirectUrl"] = "/home/"
    return json_response(data)


def org_brief(state: ControlPlaneState) -> dict[str, Any]:
    return {
        "id": state.org_id,
        "name": state.org_name,
        "isRoot": True,
        "isMaster": True,
        "domain": state.org_name,
    }


def _user(state: ControlPlaneState) -> dict[str, Any]:
    u = state.user
    return {
        "id": u["id"],
        "username": u["username"],
        "firstName": u["firstName"],
        "lastName": u["lastName"],
        "email": u["email"],
        "identityType": "user",
        "createdAt": "2026-01-01T00:00:00.000Z",
        "organizationId": state.org_id,
        "organization": org_brief(state),
        "memberOfOrganizations": [org_brief(state)],
        "contributorOfOrganizations": [org_brief(state)],
        "organizationPreferences": {state.org_id: {"defaultEnvironment": state.env_id}},
        "properties": {"cs_auth": {"activeOrganizationId": state.org_id}},
    }


async def me(request: web.Request) -> web.Response:
    state = state_of(request)
    tok = state.records.check_token(request.headers.get("Authorization"))
    body: dict[str, Any] = {"user": _user(state)}
    if not tok.subject.startswith("user:"):
        body["client"] = {
            "org_id": state.org_id,
            "client_id": state.connected_app.client_id,
            "name": state.connected_app.name,
        }
    return json_response(body)


async def users_me(request: web.Request) -> web.Response:
    return json_response(_user(state_of(request)))


async def telemetry(request: web.Request) -> web.Response:
    await request.read()
    return json_response({})
