"""The control plane's state: one organization, its environments, APIs, policies, tiers,
applications and contracts, with revision counters that drive the adapter sync API.

Every mutation the HTTP API can make is a synchronous method here; the server only translates.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from types import EllipsisType
from typing import TYPE_CHECKING, Any

from common.clock import Clock

from . import checks
from .model import (
    KNOWN_POLICY_VERSIONS,
    MULESOFT_GROUP_ID,
    Api,
    Application,
    Asset,
    ConnectedApp,
    Contract,
    Environment,
    NotFoundError,
    Policy,
    SeedResult,
    Tier,
)
from .persist import dump_state, load_state
from .records import RecordsMixin
from .replay import Replayer
from .state_assets import AssetsMixin
from .state_contracts import ContractsMixin
from .sync_bodies import SyncBodiesMixin

if TYPE_CHECKING:
    from .seed import ControlPlaneSpec

KEEPALIVE_LIMIT = 10_000
ACTIVE_WINDOW_S = 45.0  # an API with a keep-alive this recent shows status "active"


class ControlPlaneState(ContractsMixin, AssetsMixin, SyncBodiesMixin, RecordsMixin):
    """All control-plane state; inject one per fake (never a module global)."""

    def __init__(self, clock: Clock, seed: int = 0, *, token_ttl_s: float = 3600.0) -> None:
        self.clock = clock
        self.seed_value = seed
        self.token_ttl_s = token_ttl_s
        self._on_change: Callable[[], None] | None = None
        self._on_record = None
        self.replay: Replayer | None = None
        """When set, requests may be answered from a cassette (``fake_anypoint.replay``)."""
        self._init(seed)

    def _init(self, seed: int) -> None:
        self._ids = random.Random(seed)
        self.org_id = self._uuid()
        self.org_name = "asmkit-org"
        self.environments: dict[str, Environment] = {}
        self.env_id = self.create_environment("Sandbox", is_production=False).id
        self.connected_app = ConnectedApp(self._hex(), self._hex())
        self.user: dict[str, Any] = {
            "id": self._uuid(),
            "username": "asmkit-admin",
            "password": "asmkit-password",
            "firstName": "Asm",
            "lastName": "Kit",
            "email": "asmkit-admin@example.invalid",
        }
        self.apis: dict[int, Api] = {}
        self.policies: dict[int, Policy] = {}
        self.tiers: dict[int, Tier] = {}
        self.applications: dict[int, Application] = {}
        self.contracts: dict[int, Contract] = {}
        self.published: dict[str, Asset] = {}
        self.rev = 0
        self.next_ids = {
            "api": 10001,
            "policy": 501,
            "tier": 1,
            "application": 1001,
            "contract": 7001,
        }
        self._init_records(seed)

    # -- plumbing -----------------------------------------------------------------------------

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def _hex(self) -> str:
        return f"{self._ids.getrandbits(128):032x}"

    def _next(self, kind: str) -> int:
        value = self.next_ids[kind]
        self.next_ids[kind] = value + 1
        return value

    def _bump(self) -> int:
        self.rev += 1
        return self.rev

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    def identifiers(self) -> list[str]:
        """Every organization, environment and client id this fake hands out (what a recording
        of it pseudonymises)."""
        ids = [self.org_id, *self.environments, self.connected_app.client_id]
        return ids + [app.client_id for app in self.applications.values()]

    def reset(self) -> None:
        """Back to the initial state for this seed (same org, env and connected app ids)."""
        self._init(self.seed_value)
        self._changed()
        self._notify("replaced", None)

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to rebuild this state (JSON-compatible)."""
        return dump_state(self)

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Replace the state with a ``snapshot()``."""
        load_state(self, snapshot)
        self._changed()
        self._notify("replaced", None)

    def seed(self, spec: ControlPlaneSpec | dict[str, Any]) -> SeedResult:
        """Add a ``control_plane:`` document (a ``ControlPlaneSpec`` or its JSON form); all or
        nothing (ValueError, or pydantic's ValidationError for a malformed document)."""
        from .seed import ControlPlaneSpec, apply_seed

        if not isinstance(spec, ControlPlaneSpec):
            spec = ControlPlaneSpec.model_validate(spec if spec is not None else {})
        before = dump_state(self)
        hook, self._on_change = self._on_change, None
        try:
            result = apply_seed(self, spec)
        except BaseException:
            load_state(self, before)
            raise
        finally:
            self._on_change = hook
        self._changed()
        return result

    # -- environments -------------------------------------------------------------------------

    def create_environment(
        self, name: str, *, is_production: bool = False, type: str | None = None
    ) -> Environment:
        checks.text("name", name)
        if any(e.name == name for e in self.environments.values()):
            raise ValueError(f"name: an environment named {name!r} already exists")
        env_type = type or ("production" if is_production else "sandbox")
        env = Environment(self._uuid(), name, self.org_id, is_production, env_type, self._hex())
        self.environments[env.id] = env
        self._changed()
        return env

    def environment(self, env_id: str) -> Environment:
        env = self.environments.get(env_id)
        if env is None:
            raise NotFoundError(f"environment {env_id!r} not found in organization {self.org_id}")
        return env

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
        checks.text("asset_id", asset_id)
        checks.text("asset_version", asset_version)
        checks.text("product_version", product_version)
        if instance_label is not None:
            checks.text("instance_label", instance_label)
        svc = checks.str_list("services", services or [])
        env = self.environment(env_id or self.env_id)
        now = self.clock.wall()
        api = Api(
            self._next("api"),
            env.id,
            asset_id,
            asset_version,
            product_version,
            instance_label,
            group_id or self.org_id,
            svc,
            now,
            now,
            self._bump(),
            technology,
            endpoint_uri,
            dict(endpoint or {}),
        )
        self.apis[api.id] = api
        self._changed()
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
        env = env_id or self.env_id
        return [a for a in self.apis.values() if a.env_id == env]

    def edit_api(self, api_id: int, **fields: Any) -> Api:
        """Change API fields (``deprecated``, ``instance_label``, ``endpoint``, ...)."""
        api = self.api(api_id)
        allowed = {
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
        for key in fields:
            if key not in allowed:
                raise ValueError(f"{key}: cannot be edited; allowed: {', '.join(sorted(allowed))}")
        for key, value in fields.items():
            setattr(api, key, value)
        api.updated_wall = self.clock.wall()
        self._changed()
        return api

    def delete_api(self, api_id: int) -> None:
        """Remove an API with its policies, tiers and contracts."""
        self.api(api_id)
        del self.apis[api_id]
        for store in (self.policies, self.tiers, self.contracts):
            for key in [k for k, v in store.items() if v.api_id == api_id]:
                del store[key]
        self._bump()
        self._changed()

    def bind_service(
        self,
        service: str,
        *,
        api_id: int | None = None,
        asset_id: str | None = None,
        product_version: str = "v1",
    ) -> int:
        """Service discovery: bind a mesh service to an API (existing, or a new asset+API)."""
        checks.text("service", service)
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
        api.updated_wall = self.clock.wall()
        self._changed()
        return api.id

    def keepalive(self, adapter_id: str, api_ids: list[int], version: str) -> list[int]:
        """Record a keep-alive; returns the API ids it refreshed (unknown ids are ignored)."""
        now, wall = self.clock.now(), self.clock.wall()
        known = [i for i in api_ids if i in self.apis]
        for i in known:
            self.apis[i].last_active_at = now
            self.apis[i].last_active_wall = wall
        self._keepalives.append(
            {
                "adapter_id": adapter_id,
                "api_ids": list(api_ids),
                "version": version,
                "at": now,
                "wall": wall,
            }
        )
        if len(self._keepalives) > KEEPALIVE_LIMIT:
            del self._keepalives[: len(self._keepalives) - KEEPALIVE_LIMIT]
        self._changed()
        return known

    def api_status(self, api: Api) -> str:
        if (
            api.last_active_at is not None
            and self.clock.now() - api.last_active_at < ACTIVE_WINDOW_S
        ):
            return "active"
        return "inactive"

    # -- policies -----------------------------------------------------------------------------

    def apply_policy(
        self,
        api_id: int,
        asset_id: str,
        configuration: dict[str, Any] | None = None,
        *,
        asset_version: str | None = None,
        order: int | None = None,
        disabled: bool = False,
        pointcut: list[dict[str, Any]] | None = None,
        group_id: str | None = None,
    ) -> int:
        """Apply a policy template to an API; returns the policy id."""
        api = self.api(api_id)
        checks.text("asset_id", asset_id)
        config = checks.mapping("configuration", configuration or {})
        version = asset_version or KNOWN_POLICY_VERSIONS.get(asset_id, "1.0.0")
        checks.text("asset_version", version)
        group = group_id or (
            MULESOFT_GROUP_ID if asset_id in KNOWN_POLICY_VERSIONS else self.org_id
        )
        existing = [p.order for p in self.policies.values() if p.api_id == api_id]
        if order is None:
            order = max(existing, default=0) + 1
        checks.positive_int("order", order)
        checks.boolean("disabled", disabled)
        now = self.clock.wall()
        policy = Policy(
            self._next("policy"),
            api.id,
            group,
            asset_id,
            version,
            config,
            order,
            disabled,
            checks.pointcut("pointcut", pointcut),
            now,
            now,
        )
        self.policies[policy.id] = policy
        self._policies_changed(api)
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
        configuration: dict[str, Any] | None = None,
        pointcut: list[dict[str, Any]] | EllipsisType | None = ...,
        order: int | None = None,
        disabled: bool | None = None,
        asset_version: str | None = None,
    ) -> Policy:
        """Change a policy; ``pointcut=...`` leaves it, ``None`` clears it."""
        policy = self.policy(api_id, policy_id)
        config = (
            checks.mapping("configuration", configuration) if configuration is not None else None
        )
        cut = checks.pointcut("pointcut", pointcut) if pointcut is not ... else policy.pointcut
        if order is not None:
            checks.positive_int("order", order)
        if disabled is not None:
            checks.boolean("disabled", disabled)
        if asset_version is not None:
            checks.text("asset_version", asset_version)
        if config is not None:
            policy.configuration = config
        policy.pointcut = cut
        policy.order = order if order is not None else policy.order
        policy.disabled = disabled if disabled is not None else policy.disabled
        policy.asset_version = asset_version or policy.asset_version
        self._policies_changed(self.api(api_id), policy)
        return policy

    def set_policy_disabled(self, api_id: int, policy_id: int, disabled: bool) -> Policy:
        return self.edit_policy(api_id, policy_id, disabled=disabled)

    def reorder_policies(self, api_id: int, orders: dict[int, int]) -> None:
        """Set ``order`` of several policies at once (``{policy_id: order}``)."""
        for pid, order in orders.items():
            self.policy(api_id, pid)
            checks.positive_int(f"order of policy {pid}", order)
        for pid, order in orders.items():
            self.policies[pid].order = order
            self.policies[pid].updated_wall = self.clock.wall()
        self._policies_changed(self.api(api_id))

    def remove_policy(self, api_id: int, policy_id: int) -> None:
        self.policy(api_id, policy_id)
        del self.policies[policy_id]
        self._policies_changed(self.api(api_id))

    def _policies_changed(self, api: Api, policy: Policy | None = None) -> None:
        api.policies_version = self._bump()
        if policy is not None:
            policy.updated_wall = self.clock.wall()
        self._changed()
