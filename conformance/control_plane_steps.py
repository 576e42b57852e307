"""The ``${...}`` namespace a scenario's steps see: the control plane's objects by document key
(seeded, or created by changes since), plus the run's seed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from live.stack import Stack
    from scenarios.model import Scenario


def object_namespaces(stack: Stack) -> dict[str, Any]:
    """APIs, applications, policies, contracts and tiers by key, as variables expose them."""
    refs = stack.seed
    return {
        "apis": {
            # api_id: the id as text, as the ext_authz context and analytics events carry it
            key: {"id": api_id, "api_id": str(api_id), "service": stack.services.get(key)}
            for key, api_id in refs.apis.items()
        },
        "applications": {
            key: {
                "id": app.id,
                "name": app.name,
                "client_id": app.client_id,
                "client_secret": app.client_secret,
            }
            for key, app in refs.applications.items()
        },
        "policies": {key: {"id": pid} for key, pid in refs.policies.items()},
        "contracts": {key: {"id": cid} for key, cid in refs.contracts.items()},
        "tiers": {key: {"id": tid} for key, tid in refs.tiers.items()},
    }


def seed_variables(stack: Stack, scenario: Scenario) -> dict[str, Any]:
    """The ``${...}`` namespace at the start of a run (``identity_provider``: its URLs;
    ``directory``: the LDAP directory's URL, base and service account)."""
    values = {**object_namespaces(stack), "run": {"seed": scenario.seed}}
    if stack.identity_provider is not None:
        values["identity_provider"] = stack.identity_provider.variables()
    if stack.directory is not None:
        values["directory"] = stack.directory.variables()
    return values
