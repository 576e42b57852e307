"""Seeding: the ``control_plane:`` section of a scenario (snake_case dict) applied to a state.

Unknown keys and bad values raise ValueError naming the path (``apis[0].policies[1].x``).
``ControlPlaneState.seed`` wraps this so a failed seed leaves the state unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import checks
from .model import CONTRACT_STATUSES, NotFoundError, SeedResult

if TYPE_CHECKING:
    from .state import ControlPlaneState

TOP_KEYS = ("apis", "applications", "contracts")
API_KEYS = (
    "key",
    "asset_id",
    "asset_version",
    "product_version",
    "instance_label",
    "services",
    "policies",
    "tiers",
)
POLICY_KEYS = ("key", "asset_id", "asset_version", "configuration", "disabled", "order", "pointcut")
TIER_KEYS = ("key", "name", "auto_approve", "limits")
APP_KEYS = ("key", "name", "client_id", "client_secret")
CONTRACT_KEYS = ("application", "api", "tier", "status")


def _mapping(path: str, value: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{path}: expected a mapping with keys {', '.join(allowed)}")
    for key in value:
        if key not in allowed:
            raise ValueError(f"{path}.{key}: unknown key; allowed: {', '.join(allowed)}")
    return value


def _list(path: str, value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{path}: expected a list, got {value!r}")
    return value


def _key(path: str, value: Any, seen: set[str]) -> str:
    if not isinstance(value, str) or not value or "/" in value:
        raise ValueError(f"{path}: {value!r} must be a non-empty string without '/'")
    if value in seen:
        raise ValueError(f"{path}: duplicate key {value!r}; keys must be unique")
    seen.add(value)
    return value


def _at(path: str, exc: Exception) -> ValueError:
    return ValueError(f"{path}.{exc}")


def apply_seed(state: ControlPlaneState, data: Any) -> SeedResult:
    """Create everything ``data`` describes on ``state``; returns ids by key."""
    if data is None:
        data = {}
    top = _mapping("control_plane", data, TOP_KEYS)
    apis: dict[str, int] = {}
    policies: dict[str, int] = {}
    tiers: dict[str, int] = {}
    api_keys: set[str] = set()
    for i, raw in enumerate(_list("apis", top.get("apis"))):
        path = f"apis[{i}]"
        spec = _mapping(path, raw, API_KEYS)
        if "key" not in spec:
            raise ValueError(f"{path}.key: required (a scenario-local name such as 'orders')")
        key = _key(f"{path}.key", spec["key"], api_keys)
        services = spec.get("services")
        if services is None:
            services = [f"{key}.default.svc.cluster.local"]
        try:
            api_id = state.create_api(
                spec.get("asset_id") or key,
                asset_version=spec.get("asset_version") or "1.0.0",
                product_version=spec.get("product_version") or "v1",
                instance_label=spec.get("instance_label"),
                services=checks.str_list("services", services),
            )
        except ValueError as exc:
            raise _at(path, exc) from None
        apis[key] = api_id
        _seed_policies(state, path, key, api_id, spec.get("policies"), policies)
        _seed_tiers(state, path, key, api_id, spec.get("tiers"), tiers)

    applications = {}
    app_keys: set[str] = set()
    for i, raw in enumerate(_list("applications", top.get("applications"))):
        path = f"applications[{i}]"
        spec = _mapping(path, raw, APP_KEYS)
        if "key" not in spec:
            raise ValueError(f"{path}.key: required (a scenario-local name such as 'mobile')")
        key = _key(f"{path}.key", spec["key"], app_keys)
        try:
            applications[key] = state.create_application(
                spec.get("name") or key, spec.get("client_id"), spec.get("client_secret")
            )
        except ValueError as exc:
            raise _at(path, exc) from None

    contracts: dict[str, int] = {}
    for i, raw in enumerate(_list("contracts", top.get("contracts"))):
        path = f"contracts[{i}]"
        spec = _mapping(path, raw, CONTRACT_KEYS)
        app_key, api_key = spec.get("application"), spec.get("api")
        if app_key not in applications:
            raise ValueError(
                f"{path}.application: {app_key!r} is not an application key; "
                f"known: {sorted(applications)}"
            )
        if api_key not in apis:
            raise ValueError(f"{path}.api: {api_key!r} is not an API key; known: {sorted(apis)}")
        tier_key = spec.get("tier")
        tier_id = None
        if tier_key is not None:
            full = f"{api_key}/{tier_key}"
            if full not in tiers:
                known = sorted(k.split("/", 1)[1] for k in tiers if k.startswith(api_key + "/"))
                raise ValueError(
                    f"{path}.tier: {tier_key!r} is not a tier of API {api_key!r}; known: {known}"
                )
            tier_id = tiers[full]
        status = spec.get("status", "APPROVED")
        if status not in CONTRACT_STATUSES:
            raise ValueError(
                f"{path}.status: {status!r} is not one of {', '.join(CONTRACT_STATUSES)}"
            )
        name = f"{app_key}/{api_key}"
        if name in contracts:
            raise ValueError(f"{path}: duplicate contract between {app_key!r} and {api_key!r}")
        try:
            cid = state.create_contract(apis[api_key], applications[app_key].id, tier_id)
            if state.contracts[cid].status != status:
                state.set_contract_status(apis[api_key], cid, status)
        except (ValueError, NotFoundError) as exc:
            raise ValueError(f"{path}: {exc}") from None
        contracts[name] = cid
    return SeedResult(apis, policies, applications, contracts, tiers)


def _seed_policies(
    state: ControlPlaneState,
    api_path: str,
    api_key: str,
    api_id: int,
    raw: Any,
    out: dict[str, int],
) -> None:
    seen: set[str] = set()
    for j, item in enumerate(_list(f"{api_path}.policies", raw)):
        path = f"{api_path}.policies[{j}]"
        spec = _mapping(path, item, POLICY_KEYS)
        if "asset_id" not in spec:
            raise ValueError(f"{path}.asset_id: required (e.g. 'client-id-enforcement')")
        asset_id = spec["asset_id"]
        key = _key(f"{path}.key", spec.get("key") or asset_id, seen)
        order = spec.get("order")
        try:
            out[f"{api_key}/{key}"] = state.apply_policy(
                api_id,
                asset_id,
                spec.get("configuration") if spec.get("configuration") is not None else {},
                asset_version=spec.get("asset_version"),
                order=order if order is not None else j + 1,
                disabled=spec.get("disabled", False),
                pointcut=spec.get("pointcut"),
            )
        except ValueError as exc:
            raise _at(path, exc) from None


def _seed_tiers(
    state: ControlPlaneState,
    api_path: str,
    api_key: str,
    api_id: int,
    raw: Any,
    out: dict[str, int],
) -> None:
    seen: set[str] = set()
    for j, item in enumerate(_list(f"{api_path}.tiers", raw)):
        path = f"{api_path}.tiers[{j}]"
        spec = _mapping(path, item, TIER_KEYS)
        if "key" not in spec:
            raise ValueError(f"{path}.key: required (e.g. 'gold')")
        key = _key(f"{path}.key", spec["key"], seen)
        if "limits" not in spec:
            raise ValueError(
                f"{path}.limits: required, e.g. [{{maximum_requests: 100, time_period_ms: 60000}}]"
            )
        try:
            out[f"{api_key}/{key}"] = state.add_tier(
                api_id, spec.get("name") or key, spec["limits"], spec.get("auto_approve", True)
            )
        except ValueError as exc:
            raise _at(path, exc) from None
