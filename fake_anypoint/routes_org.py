"""Access Management: the organization (``GET``/``PUT``), its clients and usage, and its
environments (the public ``org`` and ``env`` specs).
"""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import StrictBool, StrictStr

from .faults import DataKind
from .httpkit import add, json_response, state_of
from .inputs import Text
from .model import Environment, NotFoundError
from .reqmodels import Body, Query, body, query
from .routes_accounts import org_brief
from .state import ControlPlaneState

ORG = "/accounts/api/organizations/{org}"
ENV = ORG + "/environments/{env}"
EPOCH = "2026-01-01T00:00:00.000Z"


def register(app: web.Application) -> None:
    add(app, "GET", ORG, organization, DataKind.ACCOUNTS)
    add(app, "PUT", ORG, update_organization, DataKind.ACCOUNTS)
    add(app, "GET", f"{ORG}/clients/{{client_id}}", client, DataKind.ACCOUNTS)
    add(app, "GET", "/accounts/api/cs/organizations/{org}/usage", usage, DataKind.ACCOUNTS)
    add(app, "GET", f"{ORG}/environments", list_environments, DataKind.ACCOUNTS)
    add(app, "POST", f"{ORG}/environments", create_environment, DataKind.ACCOUNTS)
    add(app, "GET", ENV, get_environment, DataKind.ACCOUNTS)
    add(app, "PUT", ENV, update_environment, DataKind.ACCOUNTS)
    add(app, "DELETE", ENV, delete_environment, DataKind.ACCOUNTS)


def env_view(e: Environment) -> dict[str, Any]:
    return {
        "id": e.id,
        "name": e.name,
        "organizationId": e.organization_id,
        "isProduction": e.is_production,
        "type": e.type,
        "clientId": e.client_id,
    }


def _owner(state: ControlPlaneState) -> dict[str, Any]:
    u = state.user
    return {
        "id": u["id"],
        "username": u["username"],
        "firstName": u["firstName"],
        "lastName": u["lastName"],
        "email": u["email"],
        "organizationId": state.org_id,
        "enabled": True,
        "deleted": False,
        "type": "host",
        "createdAt": EPOCH,
        "updatedAt": EPOCH,
    }


async def organization(request: web.Request) -> web.Response:
    """``MasterBGDetail``: a root organization with Service Mesh entitled."""
    state = state_of(request)
    return json_response(
        {
            **org_brief(state),
            "clientId": state.connected_app.client_id,
            "createdAt": EPOCH,
            "updatedAt": EPOCH,
            "ownerId": state.user["id"],
            "owner": _owner(state),
            "isFederated": False,
            "isAutomaticAdminPromotionExempt": False,
            "mfaRequired": "undefined",
            "sessionTimeout": 60,
            "parentOrganizationIds": [],
            "subOrganizationIds": [],
            "tenantOrganizationIds": [],
            "properties": {},
            "orgType": "master",
            "subscription": {
                "category": "Trial",
                "type": "Trial",
                "expiration": "2099-12-31T00:00:00.000Z",
            },
            "environments": [env_view(e) for e in state.environments.values()],
            "entitlements": {
                "createEnvironments": True,
                "createSubOrgs": False,
                "globalDeployment": False,
                "hybrid": {"enabled": True},
                "apis": {"enabled": True},
                "serviceMesh": {"enabled": True},
                "exchange2": {"enabled": True},
                "gateways": {"assigned": 0},
                "vCoresProduction": {"assigned": 0, "reassigned": 0},
                "vCoresSandbox": {"assigned": 0, "reassigned": 0},
                "vCoresDesign": {"assigned": 0, "reassigned": 0},
                "staticIps": {"assigned": 0, "reassigned": 0},
                "vpcs": {"assigned": 0, "reassigned": 0},
                "vpns": {"assigned": 0, "reassigned": 0},
                "loadBalancer": {"assigned": 0, "reassigned": 0},
            },
        }
    )


class UpdateOrganization(Body):
    """``BGUpdateReqBody``: the fake keeps only the name."""

    name: Text | None = None


async def update_organization(request: web.Request) -> web.Response:
    """204, as the spec says."""
    req = await body(request, UpdateOrganization)
    if req.name is not None:
        org = state_of(request).parts.org
        org.org_name = req.name
        org.core.changed()
    return web.Response(status=204)


async def client(request: web.Request) -> web.Response:
    """``Client``: a connected app's credentials by its client id."""
    state = state_of(request)
    app = state.parts.org.find_connected_app(request.match_info["client_id"])
    return json_response(
        {
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "name": app.name,
            "org_id": state.org_id,
            "user_id": state.user["id"],
            "grant_types": list(app.grant_types),
        }
    )


async def usage(request: web.Request) -> web.Response:
    """Nothing deployed: every count is 0."""
    keys = ("productionVCoresConsumed", "sandboxVCoresConsumed", "designVCoresConsumed")
    counts = ("vpcsConsumed", "vpnsConsumed", "networkConnectionsConsumed")
    more = ("loadBalancersConsumed", "loadbalancerWorkersConsumed")
    data: dict[str, Any] = {k: 0.0 for k in keys}
    data["staticIpsConsumed"] = 0.0
    data.update({k: 0 for k in (*counts, *more)})
    return json_response(data)


class EnvList(Query):
    name: str | None = None
    type: str | None = None


async def list_environments(request: web.Request) -> web.Response:
    state = state_of(request)
    q = query(request, EnvList)
    envs = [
        e
        for e in state.environments.values()
        if (q.name is None or e.name == q.name) and (q.type is None or e.type == q.type)
    ]
    return json_response({"data": [env_view(e) for e in envs], "total": len(envs)})


async def get_environment(request: web.Request) -> web.Response:
    return json_response(env_view(state_of(request).environment(request.match_info["env"])))


class EnvBody(Body):
    """``envCore``."""

    name: Text | None = None
    isProduction: StrictBool | None = None
    type: Literal["production", "sandbox", "design"] | None = None
    organizationId: StrictStr | None = None

    def env_type(self) -> str | None:
        if self.type is not None:
            return self.type
        return (
            None if self.isProduction is None else "production" if self.isProduction else "sandbox"
        )


async def create_environment(request: web.Request) -> web.Response:
    state = state_of(request)
    req = await body(request, EnvBody)
    if req.name is None:
        raise ValueError("name: required")
    env_type = req.env_type() or "sandbox"
    env = state.create_environment(req.name, is_production=env_type == "production", type=env_type)
    return json_response(env_view(env), status=201)


async def update_environment(request: web.Request) -> web.Response:
    """201 with the environment, as the spec says."""
    state = state_of(request)
    req = await body(request, EnvBody)
    env = state.parts.org.edit_environment(
        request.match_info["env"], name=req.name, type=req.env_type()
    )
    return json_response(env_view(env), status=201)


async def delete_environment(request: web.Request) -> web.Response:
    state = state_of(request)
    env_id = request.match_info["env"]
    if env_id not in state.environments:
        raise NotFoundError(f"environment {env_id!r} not found in organization {state.org_id}")
    in_use = any(a.env_id == env_id for a in state.apis.values())
    state.parts.org.delete_environment(env_id, in_use)
    return web.Response(status=204)
