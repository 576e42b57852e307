"""The API Manager part of the state: API instances, their bound mesh services, keep-alive
status and applied policies. Every policy change bumps its API's ``policies_version``.
"""

from __future__ import annotations

from types import EllipsisType
from typing import Any

from .core import Core
from .inputs import configuration, pointcut, text
from .model import (
    KNOWN_POLICY_VERSIONS,
    MULESOFT_GROUP_ID,
    Api,
    AutomatedPolicy,
    ConflictError,
    NotFoundError,
    Policy,
)
from .organization import Organization

ACTIVE_WINDOW_S = 45.0
"""An API with a keep-alive this recent shows status "active" (while its adapter's keep-alive
period is unknown)."""
MISSED_KEEPALIVES = 2.5
"""Once the period is known, an API goes "inactive" after this many periods without one."""
MIN_WINDOW_S = 0.5
EDITABLE_API_FIELDS = frozenset(
    {
        "asset_version",
        "product_version",
        "instance_label",
        "deprecated",
        "is_public",
        "tags",
        "endpoint",
        "endpoint_uri",
        "technology",
        "services",
    }
)


class Catalog:
    """API instances and their policies."""

    def __init__(self, core: Core, org: Organization) -> None:
        self.core = core
        self.org = org
        self.apis: dict[int, Api] = {}
        self.policies: dict[int, Policy] = {}
        self.automated: dict[int, AutomatedPolicy] = {}

    # -- APIs ---------------------------------------------------------------------------------

    def create_api(
        self,
        asset_id: str,
        *,
        asset_version: str = "1.0.0",
        product_version: str = "v1",
        instance_label: str | None = None,
        services: list[str] | None = None,
        env_id: str | None = None,
        group_id: str | None = None,
        technology: str = "flexGateway",
        endpoint: dict[str, Any] | None = None,
        endpoint_uri: str | None = None,
    ) -> int:
        """A new API instance (with its Exchange asset implied); returns its id."""
        text("asset_id", asset_id)
        text("asset_version", asset_version)
        text("product_version", product_version)
        if instance_label is not None:
            text("instance_label", instance_label)
        svc = [text("services[]", s) for s in services or []]
        env = self.org.environment(env_id or self.org.env_id)
        core = self.core
        now = core.wall()
        api = Api(
            core.next("api"),
            env.id,
            asset_id,
            asset_version,
            product_version,
            instance_label,
            group_id or self.org.org_id,
            svc,
            now,
            now,
            core.bump(),
            technology,
            endpoint_uri,
            dict(endpoint or {}),
        )
        self.apis[api.id] = api
        core.changed()
        return api.id

    def api(self, api_id: int) -> Api:
        api = self.apis.get(api_id) if isinstance(api_id, int) else None
        if api is None:
            raise NotFoundError(f"API with ID {api_id!r} not found")
        return api

    def api_in(self, api_id: int, env_id: str) -> Api:
        """The API, which must belong to environment ``env_id`` (404 otherwise)."""
        api = self.api(api_id)
        if api.env_id != env_id:
            raise NotFoundError(f"API with ID {api_id!r} not found in environment {env_id}")
        return api

    def list_apis(self, env_id: str | None = None) -> list[Api]:
        env = env_id or self.org.env_id
        return [a for a in self.apis.values() if a.env_id == env]

    def edit_api(self, api_id: int, **fields: Any) -> Api:
        """Change API fields (``deprecated``, ``instance_label``, ``endpoint``, ...)."""
        api = self.api(api_id)
        for key in fields:
            if key not in EDITABLE_API_FIELDS:
                allowed = ", ".join(sorted(EDITABLE_API_FIELDS))
                raise ValueError(f"{key}: cannot be edited; allowed: {allowed}")
        for key, value in fields.items():
            setattr(api, key, value)
        api.updated_wall = self.core.wall()
        self.core.changed()
        return api

    def delete_api(self, api_id: int) -> None:
        """Remove an API with its policies (the state removes its tiers and contracts)."""
        self.api(api_id)
        del self.apis[api_id]
        for key in [k for k, v in self.policies.items() if v.api_id == api_id]:
            del self.policies[key]

    def bind_service(
        self,
        service: str,
        *,
        api_id: int | None = None,
        asset_id: str | None = None,
        product_version: str = "v1",
    ) -> int:
        """Service discovery: bind a mesh service to an API (existing, or a new asset+API)."""
        text("service", service)
        if api_id is None:
            name = asset_id or service.split(".")[0]
            existing = [
                a
                for a in self.list_apis()
                if a.asset_id == name and a.product_version == product_version
            ]
            api_id = (
                existing[0].id
                if existing
                else self.create_api(name, product_version=product_version)
            )
        api = self.api(api_id)
        for other in self.apis.values():
            if other.id != api.id and service in other.services:
                other.services.remove(service)
        if service not in api.services:
            api.services.append(service)
        api.updated_wall = self.core.wall()
        self.core.changed()
        return api.id

    def unbind_service(self, service: str, api_id: int) -> None:
        """Delete a binding (``asmctl adapter binding delete``): the API keeps its policies,
        tiers and contracts in API Manager but leaves the adapters' API list once no service
        is bound to it; binding a service again brings the same API id back."""
        api = self.api(api_id)
        if service not in api.services:
            raise ConflictError(
                f"service {service!r} is not bound to API {api_id} (bound: "
                f"{', '.join(api.services) or 'none'})"
            )
        api.services.remove(service)
        api.updated_wall = self.core.wall()
        self.core.changed()

    def mark_active(self, adapter_id: str, api_ids: list[int]) -> list[int]:
        """A keep-alive of ``adapter_id`` for ``api_ids``: the known ones show active (and learn
        that adapter's keep-alive period); returns those."""
        now, wall = self.core.clock.now(), self.core.wall()
        known = [i for i in api_ids if i in self.apis]
        for i in known:
            api = self.apis[i]
            before = api.keepalive_by_adapter.get(adapter_id)
            if before is not None and now > before:
                api.keepalive_period = now - before
            if adapter_id in api.keepalive_by_adapter or len(api.keepalive_by_adapter) < 100:
                api.keepalive_by_adapter[adapter_id] = now
            api.last_active_at, api.last_active_wall = now, wall
        return known

    def api_status(self, api: Api) -> str:
        """``active`` while keep-alives arrive: within 45 s of the last one, or within 2.5
        keep-alive periods once two keep-alives told the period (missing two and a half
        keep-alives makes it ``inactive``)."""
        last = api.last_active_at
        if last is None:
            return "inactive"
        window = ACTIVE_WINDOW_S
        if api.keepalive_period is not None:
            window = min(window, max(MIN_WINDOW_S, MISSED_KEEPALIVES * api.keepalive_period))
        return "active" if self.core.clock.now() - last < window else "inactive"

    # -- policies -----------------------------------------------------------------------------

    def apply_policy(
        self,
        api_id: int,
        asset_id: str,
        config: dict[str, Any] | None = None,
        *,
        asset_version: str | None = None,
        order: int | None = None,
        disabled: bool = False,
        cut: list[dict[str, Any]] | None = None,
        group_id: str | None = None,
    ) -> int:
        """Apply a policy template to an API; returns the policy id (taken only once the
        policy is known to be valid)."""
        api = self.api(api_id)
        text("asset_id", asset_id)
        conf = configuration(config or {})
        version = text(
            "asset_version", asset_version or KNOWN_POLICY_VERSIONS.get(asset_id, "1.0.0")
        )
        known = asset_id in KNOWN_POLICY_VERSIONS
        group = group_id or (MULESOFT_GROUP_ID if known else self.org.org_id)
        existing = [p.order for p in self.policies.values() if p.api_id == api_id]
        order = max(existing, default=0) + 1 if order is None else _order("order", order)
        wire_cut = pointcut(cut)
        now = self.core.wall()
        policy = Policy(
            self.core.next("policy"),
            api.id,
            group,
            asset_id,
            version,
            conf,
            order,
            _flag("disabled", disabled),
            wire_cut,
            now,
            now,
        )
        self.policies[policy.id] = policy
        self._changed(api)
        return policy.id

    def policy(self, api_id: int, policy_id: int) -> Policy:
        self.api(api_id)
        policy = self.policies.get(policy_id) if isinstance(policy_id, int) else None
        if policy is None or policy.api_id != api_id:
            raise NotFoundError(f"policy {policy_id!r} not found on API {api_id}")
        return policy

    def policies_of(self, api_id: int) -> list[Policy]:
        self.api(api_id)
        found = [p for p in self.policies.values() if p.api_id == api_id]
        return sorted(found, key=lambda p: (p.order, p.id))

    def edit_policy(
        self,
        api_id: int,
        policy_id: int,
        *,
        config: dict[str, Any] | None = None,
        cut: list[dict[str, Any]] | EllipsisType | None = ...,
        order: int | None = None,
        disabled: bool | None = None,
        asset_version: str | None = None,
    ) -> Policy:
        """Change a policy; ``cut=...`` leaves its pointcut, ``None`` clears it."""
        policy = self.policy(api_id, policy_id)
        conf = configuration(config) if config is not None else policy.configuration
        wire_cut = pointcut(cut) if cut is not ... else policy.pointcut
        new_order = _order("order", order) if order is not None else policy.order
        flag = _flag("disabled", disabled) if disabled is not None else policy.disabled
        version = text("asset_version", asset_version) if asset_version else policy.asset_version
        policy.configuration, policy.pointcut, policy.order = conf, wire_cut, new_order
        policy.disabled, policy.asset_version = flag, version
        self._changed(self.api(api_id), policy)
        return policy

    def reorder_policies(self, api_id: int, orders: dict[int, int]) -> None:
        """Set ``order`` of several policies at once (``{policy_id: order}``)."""
        for pid, order in orders.items():
            self.policy(api_id, pid)
            _order(f"order of policy {pid}", order)
        for pid, order in orders.items():
            self.policies[pid].order = order
            self.policies[pid].updated_wall = self.core.wall()
        self._changed(self.api(api_id))

    def remove_policy(self, api_id: int, policy_id: int) -> None:
        self.policy(api_id, policy_id)
        del self.policies[policy_id]
        self._changed(self.api(api_id))

    # -- automated policies -------------------------------------------------------------------

    def add_automated_policy(
        self,
        env_id: str,
        asset_id: str,
        config: dict[str, Any] | None = None,
        *,
        asset_version: str | None = None,
        group_id: str | None = None,
        order: int = 1,
        disabled: bool = False,
        cut: list[dict[str, Any]] | None = None,
    ) -> AutomatedPolicy:
        """A policy applied to every API instance of ``env_id``."""
        env = self.org.environment(env_id)
        text("assetId", asset_id)
        version = asset_version or KNOWN_POLICY_VERSIONS.get(asset_id, "1.0.0")
        known = asset_id in KNOWN_POLICY_VERSIONS
        now = self.core.wall()
        policy = AutomatedPolicy(
            0,
            env.id,
            group_id or (MULESOFT_GROUP_ID if known else self.org.org_id),
            asset_id,
            text("assetVersion", version),
            configuration(config or {}),
            _order("order", order),
            _flag("disabled", disabled),
            pointcut(cut),
            now,
            now,
        )
        policy.id = self.core.next("automated")
        self.automated[policy.id] = policy
        self.core.changed()
        return policy

    def automated_policies(self, env_id: str | None = None) -> list[AutomatedPolicy]:
        found = sorted(self.automated.values(), key=lambda p: p.id)
        return [p for p in found if env_id is None or p.env_id == env_id]

    def remove_automated_policy(self, policy_id: int) -> None:
        if policy_id not in self.automated:
            raise NotFoundError(f"automated policy {policy_id!r} not found")
        del self.automated[policy_id]
        self.core.changed()

    def _changed(self, api: Api, policy: Policy | None = None) -> None:
        api.policies_version = self.core.bump()
        if policy is not None:
            policy.updated_wall = self.core.wall()
        self.core.changed()


def _order(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{field}: {value!r} must be an integer >= 1")
    return value


def _flag(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{field}: {value!r} must be true or false")
    return value
