"""Wire JSON for the entities: the adapter sync API shapes and the API Manager v1 shapes.

Field names follow docs/adapter-contract.md §2 and research/anypoint.md §2.2/§3.3.
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any

from .model import Api, Application, Contract, Policy, Tier

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
    return {"created": {"date": iso(created)}, "updated": {"date": iso(updated)}}


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


# -- API Manager v1 ----------------------------------------------------------------------------


def am_api(state: ControlPlaneState, api: Api, *, tls: bool = False) -> dict[str, Any]:
    endpoint = {
        "id": api.id,
        "apiId": api.id,
        "type": "http",
        "uri": None,
        "proxyUri": None,
        "deploymentType": "HY",
        "isCloudHub": None,
        "muleVersion4OrAbove": True,
        "responseTimeout": None,
        "referencesUserDomain": None,
        "wsdlConfig": None,
        **api.endpoint,
    }
    if tls:
        endpoint.setdefault("tlsContexts", None)
    else:
        endpoint.pop("tlsContexts", None)
    contracts = [c for c in state.contracts.values() if c.api_id == api.id and not c.deleted]
    return {
        "id": api.id,
        "organizationId": state.org_id,
        "masterOrganizationId": state.org_id,
        "environmentId": api.env_id,
        "groupId": api.group_id,
        "assetId": api.asset_id,
        "assetVersion": api.asset_version,
        "productVersion": api.product_version,
        "instanceLabel": api.instance_label,
        "autodiscoveryInstanceName": f"{api.product_version}:{api.id}",
        "technology": api.technology,
        "endpointUri": api.endpoint_uri,
        "isPublic": api.is_public,
        "deprecated": api.deprecated,
        "tags": list(api.tags),
        "order": 1,
        "pinned": False,
        "providerId": None,
        "stage": "release",
        "status": state.api_status(api),
        "lastActiveDate": iso(api.last_active_wall),
        "activeContractsCount": sum(1 for c in contracts if c.status == "APPROVED"),
        "audit": audit(api.created_wall, api.updated_wall),
        "endpoint": endpoint,
        "deployment": None,
        "services": list(api.services),
    }


def am_asset_groups(state: ControlPlaneState, apis: list[Api]) -> list[dict[str, Any]]:
    """APIs grouped by Exchange asset, as ``GET …/apis`` returns them."""
    groups: dict[tuple[str, str], list[Api]] = {}
    for api in apis:
        groups.setdefault((api.group_id, api.asset_id), []).append(api)
    out = []
    for (group_id, asset_id), members in groups.items():
        first = members[0]
        out.append(
            {
                "id": first.id,
                "name": f"groupId:{group_id}:assetId:{asset_id}",
                "exchangeAssetName": asset_id,
                "groupId": group_id,
                "assetId": asset_id,
                "totalApis": len(members),
                "autodiscoveryApiName": f"groupId:{group_id}:assetId:{asset_id}",
                "organizationId": state.org_id,
                "masterOrganizationId": state.org_id,
                "audit": audit(first.created_wall, max(a.updated_wall for a in members)),
                "apis": [am_api(state, a) for a in members],
            }
        )
    return out


def am_policy_legacy(p: Policy) -> dict[str, Any]:
    """The ``fullInfo=false`` item (what ``api-mgr policy list`` reads)."""
    return {
        "id": p.id,
        "apiId": p.api_id,
        "policyTemplateId": p.asset_id,
        "groupId": p.group_id,
        "assetId": p.asset_id,
        "assetVersion": p.asset_version,
        "order": p.order,
        "disabled": p.disabled,
        "type": "system",
        "configurationData": p.configuration,
        "pointcutData": p.pointcut,
        "audit": audit(p.created_wall, p.updated_wall),
    }


def am_policy_full(p: Policy) -> dict[str, Any]:
    """The envelope item (``GET …/policies`` without ``fullInfo``; SDK shape)."""
    return {
        "policyId": p.id,
        "id": p.id,
        "apiId": p.api_id,
        "policyTemplateId": p.asset_id,
        "order": p.order,
        "disabled": p.disabled,
        "type": "system",
        "configuration": p.configuration,
        "configurationData": p.configuration,
        "pointcutData": p.pointcut,
        "template": {"groupId": p.group_id, "assetId": p.asset_id, "assetVersion": p.asset_version},
        "implementationAsset": None,
        "audit": audit(p.created_wall, p.updated_wall),
    }


def am_tier(state: ControlPlaneState, t: Tier) -> dict[str, Any]:
    count = sum(1 for c in state.contracts.values() if c.tier_id == t.id and not c.deleted)
    return {
        "id": t.id,
        "apiId": t.api_id,
        "name": t.name,
        "description": t.description,
        "status": t.status,
        "autoApprove": t.auto_approve,
        "applicationCount": count,
        "limits": [dict(x) for x in t.limits],
        "audit": audit(t.created_wall, t.updated_wall),
    }


def am_contract(state: ControlPlaneState, c: Contract) -> dict[str, Any]:
    app = state.applications.get(c.application_id)
    tier = state.tiers.get(c.tier_id) if c.tier_id is not None else None
    requested = state.tiers.get(c.requested_tier_id) if c.requested_tier_id is not None else None
    return {
        "id": c.id,
        "status": c.status,
        "apiId": c.api_id,
        "applicationId": c.application_id,
        "approvedDate": iso(c.approved_wall),
        "rejectedDate": iso(c.rejected_wall),
        "revokedDate": iso(c.revoked_wall),
        "condition": None,
        "application": {
            "id": c.application_id,
            "name": app.name if app else None,
            "coreServicesId": app.client_id if app else None,
        },
        "tier": tier_brief(tier),
        "requestedTier": {"id": requested.id, "name": requested.name} if requested else None,
        "audit": audit(c.created_wall, c.updated_wall),
    }


def application(app: Application, org_id: str) -> dict[str, Any]:
    return {
        "id": app.id,
        "name": app.name,
        "description": app.description,
        "coreServicesId": app.client_id,
        "clientId": app.client_id,
        "clientSecret": app.client_secret,
        "url": None,
        "redirectUri": [],
        "grantTypes": [],
        "apiEndpoints": False,
        "masterOrganizationId": org_id,
        "owner": None,
        "email": None,
        "owners": [],
        "audit": audit(app.created_wall, app.updated_wall),
    }
