"""The policy templates the fake knows: numeric ids for ``policyTemplateId`` and the
``/policy-templates`` listing the CLI shows for ``api-mgr policy list`` without an API id.
"""

from __future__ import annotations

from typing import Any

import yaml

from .model import KNOWN_POLICY_VERSIONS, MULESOFT_GROUP_ID, NotFoundError

_CATEGORIES = {
    "client-id-enforcement": "Compliance",
    "rate-limiting": "Quality of service",
    "rate-limiting-sla-based": "Quality of service",
    "spike-control": "Quality of service",
    "jwt-validation": "Security",
    "http-basic-authentication": "Security",
    "ldap-authentication": "Security",
    "ip-allowlist": "Security",
    "ip-blocklist": "Security",
    "json-threat-protection": "Security",
    "header-injection": "Transformation",
    "header-removal": "Transformation",
    "cors": "Compliance",
}

_CONFIG: dict[str, list[tuple[str, str]]] = {
    "client-id-enforcement": [
        ("credentialsOriginHasHttpBasicAuthenticationHeader", "radio"),
        ("clientIdExpression", "expression"),
        ("clientSecretExpression", "expression"),
    ],
    "rate-limiting": [
        ("rateLimits", "rateLimiting"),
        ("clusterizable", "boolean"),
        ("exposeHeaders", "boolean"),
    ],
    "rate-limiting-sla-based": [
        ("clientIdExpression", "expression"),
        ("clientSecretExpression", "expression"),
        ("exposeHeaders", "boolean"),
        ("clusterizable", "boolean"),
    ],
    "jwt-validation": [
        ("jwtOrigin", "radio"),
        ("signingMethod", "radio"),
        ("jwtKeyOrigin", "radio"),
        ("textKey", "string"),
        ("jwksUrl", "string"),
    ],
    "http-basic-authentication": [("username", "string"), ("password", "string")],
    "ldap-authentication": [
        ("ldapServerURL", "string"),
        ("ldapServerUserDn", "string"),
        ("ldapServerUserPassword", "string"),
    ],
    "spike-control": [
        ("maximumRequests", "int"),
        ("timePeriodInMilliseconds", "int"),
        ("delayTimeInMillis", "int"),
        ("delayAttempts", "int"),
    ],
    "ip-allowlist": [("ipExpression", "expression"), ("ips", "ipList")],
    "ip-blocklist": [("ipExpression", "expression"), ("ips", "ipList")],
    "header-injection": [("inboundHeaders", "keyvalues"), ("outboundHeaders", "keyvalues")],
    "header-removal": [("inboundHeaders", "string"), ("outboundHeaders", "string")],
    "json-threat-protection": [("maxContainerDepth", "int"), ("maxStringValueLength", "int")],
    "cors": [
        ("publicResource", "boolean"),
        ("supportCredentials", "boolean"),
        ("originGroups", "originGroups"),
    ],
}

TEMPLATE_IDS: dict[int, str] = {i + 1: name for i, name in enumerate(KNOWN_POLICY_VERSIONS)}
TEMPLATE_BY_ASSET: dict[str, int] = {name: i for i, name in TEMPLATE_IDS.items()}


def policy_templates() -> list[dict[str, Any]]:
    out = []
    for tid, asset in TEMPLATE_IDS.items():
        out.append(
            {
                "id": tid,
                "name": asset,
                "assetId": asset,
                "assetVersion": KNOWN_POLICY_VERSIONS[asset],
                "description": f"{asset} policy (asmkit fake template)",
                "category": _CATEGORIES.get(asset, "Custom"),
                "configuration": [
                    {
                        "propertyName": prop,
                        "type": kind,
                        "optional": True,
                        "allowMultiple": False,
                        "options": None,
                        "defaultValue": None,
                        "dependsOnKey": None,
                    }
                    for prop, kind in _CONFIG.get(asset, [])
                ],
            }
        )
    return out


def find_template(key: str) -> dict[str, Any]:
    """One template by numeric id or asset id; NotFoundError otherwise."""
    for template in policy_templates():
        if key in (str(template["id"]), template["assetId"]):
            return template
    raise NotFoundError(f"policy template {key!r} not found")


def exchange_template(template: dict[str, Any], org_id: str) -> dict[str, Any]:
    """A template as Exchange lists it (``ExchangePolicyTemplate``)."""
    asset, version = template["assetId"], template["assetVersion"]
    return {
        "id": template["id"],
        "groupId": MULESOFT_GROUP_ID,
        "assetId": asset,
        "version": version,
        "name": template["name"],
        "description": template["description"],
        "type": "system",
        "isOOTB": True,
        "stage": "release",
        "status": "published",
        "orgId": org_id,
        "category": template["category"],
        "resourceLevelSupported": True,
        "encryptionSupported": False,
        "standalone": True,
        "requiredCharacteristics": [],
        "providedCharacteristics": [],
        "applicable": True,
        "configuration": template["configuration"],
        "splitAssetModel": False,
        "allVersions": [
            {
                "groupId": MULESOFT_GROUP_ID,
                "assetId": asset,
                "version": version,
                "status": "published",
            }
        ],
    }


def definition_yaml(template: dict[str, Any]) -> str:
    """The policy-definition file Exchange links to (what ``policy describe`` reads)."""
    doc = {
        "id": template["assetId"],
        "name": template["name"],
        "category": template["category"],
        "description": template["description"],
        "configuration": [
            {
                "propertyName": c["propertyName"],
                "name": c["propertyName"],
                "type": c["type"],
                "optional": c["optional"],
            }
            for c in template["configuration"]
        ],
    }
    # Block YAML, not JSON: the CLI's HTTP client would parse a JSON text into an object.
    return yaml.safe_dump(doc, sort_keys=False)
