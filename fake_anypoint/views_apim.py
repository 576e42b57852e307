"""Wire JSON of API Manager v1 and Exchange client applications, as the public OpenAPI specs
describe them (fields the specs do not mark nullable are left out rather than sent as null).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .model import Api, Application, AutomatedPolicy, Contract, Policy, Tier
from .views import audit, compact, iso

if TYPE_CHECKING:
    from .state import ControlPlaneState

_ENDPOINT_NULLABLE = (
    "type",
    "uri",
    "apiGatewayVersion",
    "proxyUri",
    "proxyRegistrationUri",
    "lastActiveDate",
    "isCloudHub",
    "policiesVersion",
    "referencesUserDomain",
    "responseTimeout",
    "wsdlConfig",
    "muleVersion4OrAbove",
    "validation",
    "console",
)


def _org(state: ControlPlaneState) -> dict[str, Any]:
    return {"masterOrganizationId": state.org_id, "organizationId": state.org_id}


def am_endpoint(api: Api, *, tls: bool = False) -> dict[str, Any]:
    endpoint = {
        "id": api.id,
        "apiId": api.id,
        "apiVersionId": api.id,
        "type": "http",
        "uri": None,
        "proxyUri": None,
        "deploymentType": "HY",
        "isCloudHub": None,
        "muleVersion4OrAbove": True,
        "responseTimeout": None,
        "referencesUserDomain": None,
        "wsdlConfig": None,
        "policiesVersion": str(api.policies_version),
        **api.endpoint,
    }
    if tls and not isinstance(endpoint.get("tlsContexts"), dict):
        endpoint["tlsContexts"] = {"inbound": None, "outbound": None}
    elif not tls:
        endpoint.pop("tlsContexts", None)
    return compact(endpoint, *_ENDPOINT_NULLABLE)


def am_api(state: ControlPlaneState, api: Api, *, tls: bool = False) -> dict[str, Any]:
    """An API instance (``ApimInstanceDetails``)."""
    contracts = [c for c in state.contracts.values() if c.api_id == api.id and not c.deleted]
    body = {
        "id": api.id,
        **_org(state),
        "environmentId": api.env_id,
        "groupId": api.group_id,
        "assetId": api.asset_id,
        "assetVersion": api.asset_version,
        "productVersion": api.product_version,
        "instanceLabel": api.instance_label,
        "autodiscoveryInstanceName": autodiscovery_name(api),
        "technology": api.technology,
        "endpointUri": api.endpoint_uri,
        "isPublic": api.is_public,
        "deprecated": api.deprecated,
        "tags": list(api.tags),
        "order": 1,
        "pinned": False,
        "stage": "release",
        "status": state.api_status(api),
        "lastActiveDate": iso(api.last_active_wall),
        "activeContractsCount": sum(1 for c in contracts if c.status == "APPROVED"),
        "audit": audit(api.created_wall, api.updated_wall),
        "endpoint": am_endpoint(api, tls=tls),
        "routing": [],
        "deployment": None,
        "services": list(api.services),
    }
    return compact(body, "deployment")


def autodiscovery_name(api: Api) -> str:
    return f"{api.product_version}:{api.id}"


def am_asset_groups(state: ControlPlaneState, apis: list[Api]) -> list[dict[str, Any]]:
    """APIs grouped by Exchange asset, as ``GET …/apis`` returns them."""
    groups: dict[tuple[str, str], list[Api]] = {}
    for api in apis:
        groups.setdefault((api.group_id, api.asset_id), []).append(api)
    out = []
    for members in groups.values():
        group = am_api_asset(state, members)
        group["totalApis"] = len(members)
        group["autodiscoveryApiName"] = group["name"]
        group["audit"] = audit(members[0].created_wall, max(a.updated_wall for a in members))
        group["apis"] = [am_api(state, a) for a in members]
        out.append(group)
    return out


def am_api_asset(state: ControlPlaneState, members: list[Api]) -> dict[str, Any]:
    """The Exchange asset API instances share (``ApimAsset``)."""
    first = members[0]
    return {
        "id": first.id,
        **_org(state),
        "name": f"groupId:{first.group_id}:assetId:{first.asset_id}",
        "exchangeAssetName": first.asset_id,
        "groupId": first.group_id,
        "assetId": first.asset_id,
    }


def am_policy(state: ControlPlaneState, p: Policy) -> dict[str, Any]:
    """An applied policy (``ApimPolicy``; also the ``fullInfo=false`` list item)."""
    return {
        "id": p.id,
        **_org(state),
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
    """The ``{policies}`` envelope item (``GET …/policies`` without ``fullInfo``)."""
    return {
        "policyId": p.id,
        "id": p.id,
        "apiId": p.api_id,
        "policyTemplateId": p.asset_id,
        "version": int(p.updated_wall * 1000),
        "order": p.order,
        "disabled": p.disabled,
        "type": "system",
        "configuration": p.configuration,
        "configurationData": p.configuration,
        "pointcutData": p.pointcut,
        "template": {"groupId": p.group_id, "assetId": p.asset_id, "assetVersion": p.asset_version},
        "audit": audit(p.created_wall, p.updated_wall),
    }


def am_automated(state: ControlPlaneState, p: AutomatedPolicy) -> dict[str, Any]:
    return {
        "id": p.id,
        "ruleOfApplication": {"environmentId": p.env_id, "organizationId": state.org_id},
        "groupId": p.group_id,
        "assetId": p.asset_id,
        "assetVersion": p.asset_version,
        "configurationData": p.configuration,
        "pointcutData": p.pointcut,
        "order": p.order,
        "disabled": p.disabled,
        "implementationAssets": [],
        "audit": audit(p.created_wall, p.updated_wall),
    }


def tier_limits(t: Tier) -> list[dict[str, Any]]:
    return [dict(x) for x in t.limits]


def am_tier(state: ControlPlaneState, t: Tier) -> dict[str, Any]:
    """An SLA tier (``SlaTier``)."""
    count = sum(1 for c in state.contracts.values() if c.tier_id == t.id and not c.deleted)
    return {
        "id": t.id,
        **_org(state),
        "apiId": t.api_id,
        "apiVersionId": str(t.api_id),
        "name": t.name,
        "description": t.description or None,
        "status": t.status,
        "autoApprove": t.auto_approve,
        "applicationCount": count,
        "limits": tier_limits(t),
        "audit": audit(t.created_wall, t.updated_wall),
    }


def _contract_tier(t: Tier) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "description": t.description or None,
        "limits": tier_limits(t),
        "status": t.status,
        "autoApprove": t.auto_approve,
    }


def am_contract(state: ControlPlaneState, c: Contract) -> dict[str, Any]:
    """A contract (``GetContractResponse``); tier fields only when it has a tier."""
    app = state.applications.get(c.application_id)
    tier = state.tiers.get(c.tier_id) if c.tier_id is not None else None
    requested = state.tiers.get(c.requested_tier_id) if c.requested_tier_id is not None else None
    body = {
        "id": c.id,
        **_org(state),
        "status": c.status,
        "apiId": c.api_id,
        "api": {"organizationId": state.org_id, "id": c.api_id},
        "applicationId": c.application_id,
        "approvedDate": iso(c.approved_wall),
        "rejectedDate": iso(c.rejected_wall),
        "revokedDate": iso(c.revoked_wall),
        "application": contract_application(app, c.application_id, state.org_id),
        "tierId": tier.id if tier else None,
        "tier": _contract_tier(tier) if tier else None,
        "requestedTierId": requested.id if requested else None,
        "requestedTier": _contract_tier(requested) if requested else None,
        "audit": audit(c.created_wall, c.updated_wall),
    }
    return compact(body, "approvedDate", "rejectedDate", "revokedDate", "requestedTierId")


def contract_application(app: Application | None, app_id: int, org_id: str) -> dict[str, Any]:
    if app is None:  # deleted: the contract is gone from every list too
        return {"id": app_id}
    return {
        "id": app.id,
        "masterOrganizationId": org_id,
        "name": app.name,
        "description": app.description or None,
        "coreServicesId": app.client_id,
        "clientId": app.client_id,
        "clientProvider": {"providerId": None},
        "redirectUri": [],
        "grantTypes": [],
        "url": None,
        "owners": [],
        "audit": audit(app.created_wall, app.updated_wall),
    }


def application(app: Application, org_id: str) -> dict[str, Any]:
    """A client application (``clientApp``; the repository v2 shape adds ``coreServicesId``)."""
    return {
        "id": app.id,
        "name": app.name,
        "description": app.description or None,
        "url": None,
        "masterOrganizationId": org_id,
        "coreServicesId": app.client_id,
        "clientId": app.client_id,
        "clientSecret": app.client_secret,
        "redirectUri": [],
        "grantTypes": [],
        "apiEndpoints": False,
        "clientProvider": {"providerId": None, "name": "Anypoint", "type": None},
        "owners": [],
        "audit": audit(app.created_wall, app.updated_wall),
    }


def app_contract(state: ControlPlaneState, c: Contract) -> dict[str, Any]:
    """A contract as the Exchange client-app contracts list shows it (``clientAppContractList``)."""
    body = am_contract(state, c)
    tier = state.tiers.get(c.requested_tier_id or c.tier_id or -1)
    if tier is not None:
        body["requestedTier"] = {
            "id": tier.id,
            "name": tier.name,
            "description": tier.description,
            "limits": [
                {
                    "maximumRequests": x["maximumRequests"],
                    "timePeriodInMilliseconds": x["timePeriodInMilliseconds"],
                }
                for x in tier.limits
            ],
        }
    return body
