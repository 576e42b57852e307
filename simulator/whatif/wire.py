"""The adapter sync API's JSON, built from the control-plane state's objects the way the fake
control plane's HTTP routes build it (docs/adapter-contract.md §2.2-2.4): the API list entry,
an applied policy, and a contracts-feed item. Only the fields the adapter reads."""

from __future__ import annotations

from typing import Any

from fake_anypoint import ControlPlaneState


def api_item(api: Any) -> dict[str, Any]:
    return {
        "apiId": api.id,
        "assetId": api.asset_id,
        "productVersion": api.product_version,
        "instanceLabel": api.instance_label,
        "policiesVersion": str(api.policies_version),
        "services": list(api.services),
    }


def policy_item(policy: Any) -> dict[str, Any]:
    return {
        "policyId": policy.id,
        "order": policy.order,
        "disabled": policy.disabled,
        "template": {
            "groupId": policy.group_id,
            "assetId": policy.asset_id,
            "assetVersion": policy.asset_version,
        },
        "configuration": policy.configuration,
        "pointcutData": policy.pointcut,
    }


def contract_item(state: ControlPlaneState, contract: Any) -> dict[str, Any]:
    app = state.applications.get(contract.application_id)
    tier = state.tiers.get(contract.tier_id) if contract.tier_id is not None else None
    return {
        "organizationId": state.org_id,
        "contractId": contract.id,
        "apiId": contract.api_id,
        "versionId": contract.api_id,
        "slaTierId": contract.tier_id,
        "slaTier": (
            {"id": tier.id, "name": tier.name, "limits": [dict(x) for x in tier.limits]}
            if tier is not None
            else None
        ),
        "clientId": app.client_id if app else None,
        "clientSecret": app.client_secret if app else None,
        "clientName": app.name if app else None,
        "status": contract.status,
        "removed": contract.deleted or contract.status != "APPROVED",
    }
