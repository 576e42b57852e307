"""A scripted walk through every operation the fake serves of the public Anypoint specs, each
response checked against the spec of its operation (``spec_book``). Shared by the contract test
and ``python3 dev.py fuzz`` (which reports the figures)."""

from __future__ import annotations

import copy
import json as jsonlib
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from fake_anypoint import ControlPlaneServer, ControlPlaneState

from .spec_book import Book

SEED: dict[str, Any] = {
    "apis": [
        {
            "key": "orders",
            "policies": [{"key": "cid", "asset_id": "client-id-enforcement"}],
            "tiers": [
                {"key": "gold", "limits": [{"maximum_requests": 100, "time_period_ms": 60000}]},
                {
                    "key": "manual",
                    "auto_approve": False,
                    "limits": [{"maximum_requests": 1, "time_period_ms": 1000}],
                },
            ],
        },
        {"key": "billing", "instance_label": "billing-mesh"},
    ],
    "applications": [{"key": "mobile"}, {"key": "web"}],
    "contracts": [
        {"application": "mobile", "api": "orders", "tier": "gold"},
        {"application": "web", "api": "orders", "tier": "manual", "status": "PENDING"},
    ],
}


@dataclass
class Recorder:
    """Sends requests and checks every answer against the specs."""

    session: aiohttp.ClientSession
    base: str
    book: Book
    problems: list[str] = field(default_factory=list)
    covered: set[tuple[str, str, str]] = field(default_factory=set)
    calls: int = 0
    undocumented: list[str] = field(default_factory=list)
    """Client errors the spec of the operation does not list (it lists few): kept apart."""

    async def call(
        self,
        method: str,
        path: str,
        *,
        expect: int,
        json: Any = None,
        params: Any = None,
        in_spec: bool = True,
    ) -> Any:
        """``in_spec=False``: a kit extension used to set something up (not checked)."""
        async with self.session.request(method, self.base + path, json=json, params=params) as resp:
            raw = await resp.read()
            ctype = resp.headers.get("Content-Type", "")
            status = resp.status
        self.calls += 1
        if status != expect:
            self.problems.append(f"{method} {path}: {status}, expected {expect}: {raw[:300]!r}")
        ops = self.book.find(method, path.split("?")[0]) if in_spec else []
        if in_spec and not ops:
            self.problems.append(f"{method} {path}: not an operation of the specs")
        for op in ops:
            self.covered.add(op.key)
            found = op.check(status, ctype, raw)
            if 400 <= status < 500 and found and "is not documented" in found[0]:
                self.undocumented.append(f"{op.api} {op.label} {status}")
                found = found[1:]
            self.problems += found
        if not raw or not ctype.startswith("application/json"):
            return None
        return jsonlib.loads(raw)


async def walk(state: ControlPlaneState, server: ControlPlaneServer, book: Book) -> Recorder:
    """Every served operation at least once, in an order that leaves the state consistent."""
    seeded = state.seed(copy.deepcopy(SEED))
    org, env = state.org_id, state.env_id
    app = state.connected_app
    async with aiohttp.ClientSession() as anon:
        r = Recorder(anon, server.base_url, book)
        creds = {
            "grant_type": "client_credentials",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        }
        token = (await r.call("POST", "/accounts/api/v2/oauth2/token", json=creds, expect=200))[
            "access_token"
        ]
        user = {"username": state.user["username"], "password": state.user["password"]}
        await r.call("POST", "/accounts/login", json=user, expect=200)
        anon_problems, anon_covered, anon_calls = r.problems, r.covered, r.calls
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        r = Recorder(session, server.base_url, book, anon_problems, anon_covered, anon_calls)
        await r.call("GET", "/accounts/api/organizations/nope", expect=404)
        await _accounts(r, state, org)
        await _apim(r, state, seeded, org, env)
        await _exchange_apps(r, state, seeded, org)
    return r


async def _accounts(r: Recorder, state: ControlPlaneState, org: str) -> None:
    accounts = "/accounts/api"
    await r.call("GET", f"{accounts}/organizations/{org}", expect=200)
    await r.call("PUT", f"{accounts}/organizations/{org}", json={"name": "renamed"}, expect=204)
    await r.call(
        "GET", f"{accounts}/organizations/{org}/clients/{state.connected_app.client_id}", expect=200
    )
    await r.call("GET", f"{accounts}/cs/organizations/{org}/usage", expect=200)
    envs = f"{accounts}/organizations/{org}/environments"
    await r.call("GET", envs, expect=200)
    made = await r.call("POST", envs, json={"name": "Staging", "type": "sandbox"}, expect=201)
    await r.call("GET", f"{envs}/{made['id']}", expect=200)
    await r.call(
        "PUT", f"{envs}/{made['id']}", json={"name": "Prod", "type": "production"}, expect=201
    )
    await r.call("DELETE", f"{envs}/{made['id']}", expect=204)
    apps = f"{accounts}/organizations/{org}/connectedApplications"
    body = {"client_name": "ci", "grant_types": ["client_credentials"], "scopes": ["read:apis"]}
    ca = await r.call("POST", apps, json=body, expect=201)
    cid = ca["client_id"]
    await r.call("GET", f"{accounts}/connectedApplications", expect=200)
    await r.call("GET", f"{accounts}/connectedApplications/{cid}", expect=200)
    await r.call("GET", f"{apps}/{cid}", expect=200)
    await r.call(
        "PATCH", f"{apps}/{cid}?resetSecret=true", json={"client_name": "ci-2"}, expect=200
    )
    scopes = {"scopes": [{"scope": "manage:apis", "context_params": {"org": org}}]}
    await r.call("PUT", f"{apps}/{cid}/scopes", json=scopes, expect=204)
    await r.call("GET", f"{apps}/{cid}/scopes", expect=200)
    await r.call("DELETE", f"{apps}/{cid}", expect=204)


async def _apim(r: Recorder, state: ControlPlaneState, seeded: Any, org: str, env: str) -> None:
    am = f"/apimanager/api/v1/organizations/{org}/environments/{env}"
    xam = f"/apimanager/xapi/v1/organizations/{org}/environments/{env}"
    orders = seeded.apis["orders"]
    await r.call("GET", f"{am}/apis", params={"groupId": org, "assetId": "orders"}, expect=200)
    await r.call(
        "GET", f"{am}/apis", params={"autodiscoveryInstanceName": f"v1:{orders}"}, expect=200
    )
    await r.call("GET", f"{am}/apis/{orders}", params={"includeTlsContexts": "true"}, expect=200)
    create = {
        "technology": "serviceMesh",
        "spec": {"groupId": org, "assetId": "payments", "version": "1.0.0"},
        "endpoint": {"deploymentType": "HY", "type": "http", "uri": "http://payments"},
        "instanceLabel": "payments-mesh",
    }
    made = await r.call("POST", f"{xam}/apis", json=create, expect=201)
    new = made["id"]
    await r.call("PATCH", f"{xam}/apis/{new}", json={"instanceLabel": "pay"}, expect=200)
    await r.call("GET", f"{xam}/apis/{new}/apiAsset", expect=200)
    await _policies(r, seeded, org, am, xam)
    await _contracts(r, seeded, am, xam)
    await r.call("DELETE", f"{am}/apis/{new}", expect=204)
    await r.call("GET", f"{am}/apis/{new}", expect=404)


async def _policies(r: Recorder, seeded: Any, org: str, am: str, xam: str) -> None:
    orders = seeded.apis["orders"]
    base = f"{am}/apis/{orders}/policies"
    await r.call("GET", base, expect=200)
    await r.call("GET", base, params={"fullInfo": "false"}, expect=200)
    body = {
        "groupId": "68ef9520-24e9-4cf2-b2f5-620025690913",
        "assetId": "rate-limiting",
        "assetVersion": "1.4.1",
        "configurationData": {
            "rateLimits": [{"maximumRequests": 3, "timePeriodInMilliseconds": 1000}]
        },
        "pointcutData": [{"methodRegex": "GET", "uriTemplateRegex": "/.*"}],
    }
    made = await r.call("POST", base, json=body, expect=201)
    pid = made["id"]
    await r.call("GET", f"{base}/{pid}", expect=200)
    await r.call(
        "PATCH", f"{base}/{pid}", json={"configurationData": {"rateLimits": []}}, expect=200
    )
    await r.call("POST", f"{xam}/apis/{orders}/policies/{pid}/disable", expect=201)
    await r.call("POST", f"{xam}/apis/{orders}/policies/{pid}/enable", expect=201)
    await r.call("DELETE", f"{base}/{pid}", expect=204)
    org_am = f"/apimanager/api/v1/organizations/{org}"
    auto = {
        "assetId": "cors",
        "configurationData": {"publicResource": True},
        "ruleOfApplication": {"environmentId": am.rsplit("/", 1)[1]},
    }
    await r.call("POST", f"{org_am}/automated-policies", json=auto, expect=201, in_spec=False)
    await r.call("GET", f"{org_am}/automated-policies", expect=200)
    await r.call("GET", f"{org_am}/custom-policy-templates", expect=200)
    xorg = f"/apimanager/xapi/v1/organizations/{org}"
    templates = await r.call("GET", f"{xorg}/exchange-policy-templates", expect=200)
    one = templates[0]
    await r.call(
        "GET",
        f"{xorg}/exchange-policy-templates/{one['groupId']}/{one['assetId']}/{one['version']}",
        expect=200,
    )


async def _contracts(r: Recorder, seeded: Any, am: str, xam: str) -> None:
    orders = seeded.apis["orders"]
    base = f"{am}/apis/{orders}"
    await r.call("GET", f"{base}/contracts", params={"status": "APPROVED"}, expect=200)
    tier = await r.call(
        "POST",
        f"{base}/tiers",
        json={
            "name": "silver",
            "autoApprove": True,
            "status": "ACTIVE",
            "limits": [{"visible": True, "timePeriodInMilliseconds": 1000, "maximumRequests": 5}],
        },
        expect=201,
    )
    await r.call("GET", f"{base}/tiers", params={"limit": 10, "offset": 0}, expect=200)
    app = seeded.applications["mobile"]
    gold = seeded.contracts["mobile/orders"]
    await r.call("PATCH", f"{base}/contracts/{gold}", json={"tierId": tier["id"]}, expect=200)
    await r.call("POST", f"{xam}/apis/{orders}/contracts/{gold}/revoke", expect=201)
    await r.call("POST", f"{xam}/apis/{orders}/contracts/{gold}/restore", expect=201)
    pending = seeded.contracts["web/orders"]
    await r.call("POST", f"{xam}/apis/{orders}/contracts/{pending}/approve", expect=201)
    await r.call("GET", f"{base}/contracts/{pending}", expect=200)
    billing = seeded.apis["billing"]
    made = await r.call(
        "POST", f"{am}/apis/{billing}/contracts", json={"applicationId": app.id}, expect=200
    )
    await r.call("DELETE", f"{am}/apis/{billing}/contracts/{made['id']}", expect=204)
    edited = {
        "name": "silver+",
        "autoApprove": True,
        "status": "ACTIVE",
        "limits": [{"visible": True, "timePeriodInMilliseconds": 1000, "maximumRequests": 6}],
    }
    await r.call("PUT", f"{base}/tiers/{tier['id']}", json=edited, expect=201)
    await r.call(
        "PATCH",
        f"{base}/contracts/{gold}",
        json={"tierId": seeded.tiers["orders/gold"]},
        expect=200,
    )
    await r.call("DELETE", f"{base}/tiers/{tier['id']}", expect=204)
    await r.call("POST", f"{xam}/apis/{orders}/contracts/{pending}/reject", expect=409)


async def _exchange_apps(r: Recorder, state: ControlPlaneState, seeded: Any, org: str) -> None:
    apps = f"/exchange/api/v2/organizations/{org}/applications"
    await r.call("GET", apps, expect=200)
    body = {
        "name": "kiosk",
        "description": "a kiosk",
        "redirectUri": [],
        "grantTypes": [],
        "apiEndpoints": False,
    }
    made = await r.call("POST", apps, json=body, expect=201)
    mobile = seeded.applications["mobile"].id
    await r.call("GET", f"{apps}/{made['id']}", expect=200)
    await r.call("GET", f"{apps}/{mobile}/contracts", expect=200)
    await r.call("DELETE", f"{apps}/{made['id']}", expect=204)
    await r.call("GET", f"{apps}/{made['id']}", expect=404)
