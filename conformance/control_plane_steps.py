"""Scenario control-plane changes, made on the fake control plane's state the way API Manager
would make them, and the variables the seeded objects expose to steps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conformance.variables import VariableError, Variables

if TYPE_CHECKING:
    from live.stack import Stack
    from scenarios.model import Scenario


def seed_variables(stack: Stack, scenario: Scenario) -> dict[str, Any]:
    """The ``${...}`` namespace: seeded objects by key, plus the run's seed."""
    seed = stack.seed
    return {
        "apis": {
            # api_id: the id as text, as the ext_authz context and analytics events carry it
            key: {"id": api_id, "api_id": str(api_id), "service": stack.services.get(key)}
            for key, api_id in seed.apis.items()
        },
        "applications": {
            key: {
                "id": app.id,
                "name": app.name,
                "client_id": app.client_id,
                "client_secret": app.client_secret,
            }
            for key, app in seed.applications.items()
        },
        "policies": {key: {"id": pid} for key, pid in seed.policies.items()},
        "contracts": {key: {"id": cid} for key, cid in seed.contracts.items()},
        "tiers": {key: {"id": tid} for key, tid in seed.tiers.items()},
        "run": {"seed": scenario.seed},
    }


def _api(variables: Variables, key: str) -> int:
    return int(variables.resolve(f"apis.{key}.id"))


def _split_ref(ref: str, kind: str) -> tuple[str, str]:
    api, sep, name = ref.partition("/")
    if not sep:
        raise VariableError(f"{kind} {ref!r} must be written '<api key>/<{kind} key>'")
    return api, name


def apply_change(stack: Stack, variables: Variables, kind: str, arg: dict[str, Any]) -> str:
    """Make one change; returns a one-line summary for the trace."""
    state = stack.state
    values = variables.values
    if kind in ("revoke_contract", "approve_contract", "reject_contract", "delete_contract"):
        api_id = _api(variables, arg["api"])
        ref = f"{arg['application']}/{arg['api']}"
        contract_id = int(variables.resolve(f"contracts.{ref}.id"))
        if kind == "delete_contract":
            state.delete_contract(api_id, contract_id)
        else:
            status = {
                "revoke_contract": "REVOKED",
                "approve_contract": "APPROVED",
                "reject_contract": "REJECTED",
            }[kind]
            state.set_contract_status(api_id, contract_id, status)
        return f"contract {ref} (id {contract_id})"
    if kind == "create_contract":
        api_id = _api(variables, arg["api"])
        app_id = int(variables.resolve(f"applications.{arg['application']}.id"))
        tier_id = (
            int(variables.resolve(f"tiers.{arg['api']}/{arg['tier']}.id"))
            if arg.get("tier")
            else None
        )
        contract_id = state.create_contract(api_id, app_id, tier_id)
        ref = f"{arg['application']}/{arg['api']}"
        values["contracts"][ref] = {"id": contract_id}
        return f"contract {ref} created (id {contract_id})"
    if kind == "apply_policy":
        api_id = _api(variables, arg["api"])
        policy_id = state.apply_policy(
            api_id,
            arg["asset_id"],
            arg["configuration"],
            asset_version=arg.get("asset_version"),
            order=arg.get("order"),
            disabled=arg.get("disabled", False),
            pointcut=arg.get("pointcut"),
        )
        ref = f"{arg['api']}/{arg.get('key') or arg['asset_id']}"
        values["policies"][ref] = {"id": policy_id}
        return f"policy {ref} applied (id {policy_id})"
    if kind in ("edit_policy", "disable_policy", "enable_policy", "remove_policy"):
        api_key, _ = _split_ref(arg["policy"], "policy")
        api_id = _api(variables, api_key)
        policy_id = int(variables.resolve(f"policies.{arg['policy']}.id"))
        if kind == "edit_policy":
            changes = {
                k: arg[k] for k in ("configuration", "pointcut", "order") if arg.get(k) is not None
            }
            state.edit_policy(api_id, policy_id, **changes)
        elif kind == "remove_policy":
            state.remove_policy(api_id, policy_id)
        else:
            state.set_policy_disabled(api_id, policy_id, kind == "disable_policy")
        return f"policy {arg['policy']} (id {policy_id})"
    if kind == "edit_tier":
        api_key, _ = _split_ref(arg["tier"], "tier")
        tier_id = int(variables.resolve(f"tiers.{arg['tier']}.id"))
        state.edit_tier(_api(variables, api_key), tier_id, limits=arg["limits"])
        return f"tier {arg['tier']} limits {arg['limits']}"
    if kind == "create_application":
        app = state.create_application(
            arg.get("name") or arg["key"], arg.get("client_id"), arg.get("client_secret")
        )
        values["applications"][arg["key"]] = {
            "id": app.id,
            "name": app.name,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        }
        return f"application {arg['key']} created (id {app.id})"
    if kind == "bind_service":
        api_id = _api(variables, arg["api"])
        state.bind_service(arg["service"], api_id=api_id)
        return f"service {arg['service']} bound to {arg['api']}"
    raise VariableError(f"unknown control-plane change {kind!r}")
