"""Wire JSON shared by every view: dates, audit blocks, and the adapter sync API's shapes
(docs/adapter-contract.md §2). The public APIs' shapes are in ``views_apim``/``views_access``.
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any

from .model import Api, Contract, Policy, Tier

if TYPE_CHECKING:
    from .state import ControlPlaneState


def iso(wall: float | None) -> str | None:
    """Epoch seconds as ``2026-11-27T08:00:00.000Z`` (None stays None)."""
    if wall is None:
        return None
    return _iso(wall)


@functools.lru_cache(maxsize=8192)
def _iso(wall: float) -> str:
    ms = round(wall * 1000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000))
    return f"{base}.{ms % 1000:03d}Z"


def audit(created: float, updated: float) -> dict[str, Any]:
    return {"created": {"date": _iso(created)}, "updated": {"date": _iso(updated)}}


def compact(data: dict[str, Any], *nullable: str) -> dict[str, Any]:
    """``data`` without the ``None`` values of keys the specs do not mark nullable."""
    return {k: v for k, v in data.items() if v is not None or k in nullable}


# -- adapter sync API --------------------------------------------------------------------------


def sync_api(api: Api) -> dict[str, Any]:
    return {
        "apiId": api.id,
        "assetId": api.asset_id,
        "productVersion": api.product_version,
        "instanceLabel": api.instance_label,
        "policiesVersion": str(api.policies_version),
        "services": list(api.services),
    }


def sync_policy(p: Policy) -> dict[str, Any]:
    return {
        "policyId": p.id,
        "order": p.order,
        "disabled": p.disabled,
        "template": {"groupId": p.group_id, "assetId": p.asset_id, "assetVersion": p.asset_version},
        "configuration": p.configuration,
        "pointcutData": p.pointcut,
    }


def tier_brief(t: Tier | None) -> dict[str, Any] | None:
    if t is None:
        return None
    return {"id": t.id, "name": t.name, "limits": [dict(x) for x in t.limits]}


def feed_contract(state: ControlPlaneState, c: Contract) -> dict[str, Any]:
    app = state.applications.get(c.application_id)
    tier = state.tiers.get(c.tier_id) if c.tier_id is not None else None
    return {
        "organizationId": state.org_id,
        "contractId": c.id,
        "apiId": c.api_id,
        "versionId": c.api_id,
        "slaTierId": c.tier_id,
        "slaTier": tier_brief(tier),
        "clientId": app.client_id if app else None,
        "clientSecret": app.client_secret if app else None,
        "clientName": app.name if app else None,
        "clientDescription": app.description if app else None,
        "clientUpdatedDate": iso(app.updated_wall) if app else None,
        "redirectUris": [],
        "status": c.status,
        "contractUpdatedDate": iso(c.updated_wall),
        "updatedDate": iso(c.updated_wall),
        "removed": c.deleted or c.status != "APPROVED",
    }
