"""Builders shared by the reference adapter tests: requests, applied-policy JSON, contracts."""

from __future__ import annotations

import base64
from typing import Any

from reference_adapter import CheckInput, DecisionEngine

GROUP = "68ef9520-24e9-4cf2-b2f5-620025690913"
API = "10001"


def req(
    headers: dict[str, str] | None = None,
    *,
    api_id: str = API,
    method: str = "GET",
    path: str = "/orders",
    source_ip: str = "10.0.0.1",
    body: bytes | None = None,
) -> CheckInput:
    return CheckInput(
        api_id=api_id,
        method=method,
        path=path,
        headers={k.lower(): v for k, v in (headers or {}).items()},
        source_ip=source_ip,
        body=body,
        size=len(body) if body else 0,
    )


def policy(
    asset_id: str,
    configuration: dict[str, Any] | None = None,
    *,
    policy_id: int = 501,
    order: int = 1,
    disabled: bool = False,
    pointcut: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    return {
        "policyId": policy_id,
        "order": order,
        "disabled": disabled,
        "template": {"groupId": GROUP, "assetId": asset_id, "assetVersion": "1.0.0"},
        "configuration": configuration or {},
        "pointcutData": pointcut,
    }


def client_id_policy(**config: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "credentialsOriginHasHttpBasicAuthenticationHeader": "customExpression",
        "clientIdExpression": "#[attributes.headers['client_id']]",
        "clientSecretExpression": "#[attributes.headers['client_secret']]",
    }
    base.update(config)
    return policy("client-id-enforcement", base, **_policy_kwargs(base))


def _policy_kwargs(config: dict[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for key in ("policy_id", "order", "disabled", "pointcut"):
        if key in config:
            kwargs[key] = config.pop(key)
    return kwargs


def contract(
    client_id: str = "app-1",
    secret: str = "s3cret",
    *,
    contract_id: int = 7001,
    status: str = "APPROVED",
    removed: bool = False,
    limits: list[tuple[int, int]] | None = None,
    name: str = "mobile-app",
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "organizationId": "org-1",
        "contractId": contract_id,
        "apiId": int(API),
        "versionId": int(API),
        "clientId": client_id,
        "clientSecret": secret,
        "clientName": name,
        "status": status,
        "updatedDate": "2026-11-27T08:00:00.000Z",
        "removed": removed,
    }
    if limits is not None:
        item["slaTierId"] = 3
        item["slaTier"] = {
            "id": 3,
            "name": "Gold",
            "limits": [
                {"maximumRequests": m, "timePeriodInMilliseconds": p, "visible": True}
                for m, p in limits
            ],
        }
    return item


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def engine_with(
    policies: list[dict[str, Any]],
    contracts: list[dict[str, Any]] | None = None,
    gatekeeper: str = "flexible",
) -> DecisionEngine:
    engine = DecisionEngine(gatekeeper)
    engine.set_apis([API])
    assert engine.load_policies(API, policies, "1") is None
    engine.load_contracts(API, contracts if contracts is not None else [contract()], "c1")
    return engine
