"""The control plane's state: one organization, its environments, APIs, policies, tiers,
applications and contracts, with revision counters that drive the adapter sync API.

``ControlPlaneState`` is composed of parts with one job each (``Organization``, ``Catalog``,
``Exchange``, ``Contracts``, ``Records``, sharing one ``Core``) and is the one object the
HTTP routes and the other rooms call: every mutation is a synchronous method here.
"""

from __future__ import annotations

from types import EllipsisType
from typing import TYPE_CHECKING, Any

from common.clock import Clock

from . import sync_bodies
from .core import Core, Hooks
from .faults import ActiveFault, FaultSpec
from .model import (
    Api,
    Application,
    Asset,
    ConnectedApp,
    Contract,
    Environment,
    IngestBatch,
    JournalEntry,
    Policy,
    SeedResult,
    Tier,
    Token,
)
from .parts import Parts, new_parts
from .persist import dump_state, load_parts
from .records import Records
from .replay import Replayer

if TYPE_CHECKING:
    from .seed import ControlPlaneSpec


class ControlPlaneState:
    """All control-plane state; inject one per fake (never a module global)."""

    def __init__(self, clock: Clock, seed: int = 0, *, token_ttl_s: float = 3600.0) -> None:
        self.clock = clock
        self.seed_value = seed
        self.token_ttl_s = token_ttl_s
        self.hooks = Hooks()
        self.parts = new_parts(clock, seed, self.hooks, token_ttl_s)
        self.replay: Replayer | None = None
        """When set, requests may be answered from a cassette (``fake_anypoint.replay``)."""

    def install(self, parts: Parts) -> None:
        """Replace every part at once (a reset or a restored snapshot)."""
        self.parts = parts
        self.hooks.changed()
        self.hooks.record("replaced", None)

    # -- the parts' data, read-only views for routes and other rooms -------------------------

    @property
    def core(self) -> Core:
        return self.parts.core

    @property
    def records(self) -> Records:
        return self.parts.records

    @property
    def rev(self) -> int:
        return self.parts.core.rev

    @property
    def org_id(self) -> str:
        return self.parts.org.org_id

    @property
    def org_name(self) -> str:
        return self.parts.org.org_name

    @property
    def env_id(self) -> str:
        return self.parts.org.env_id

    @property
    def environments(self) -> dict[str, Environment]:
        return self.parts.org.environments

    @property
    def connected_app(self) -> ConnectedApp:
        return self.parts.org.connected_app

    @property
    def user(self) -> dict[str, Any]:
        return self.parts.org.user

    @property
    def apis(self) -> dict[int, Api]:
        return self.parts.catalog.apis

    @property
    def policies(self) -> dict[int, Policy]:
        return self.parts.catalog.policies

    @property
    def tiers(self) -> dict[int, Tier]:
        return self.parts.deals.tiers

    @property
    def applications(self) -> dict[int, Application]:
        return self.parts.deals.applications

    @property
    def contracts(self) -> dict[int, Contract]:
        return self.parts.deals.contracts

    @property
    def published(self) -> dict[str, Asset]:
        return self.parts.exchange.published

    # -- whole-state operations ---------------------------------------------------------------

    def identifiers(self) -> list[str]:
        """Every organization, environment and client id this fake hands out (what a recording
        of it pseudonymises)."""
        ids = [self.org_id, *self.environments, self.connected_app.client_id]
        return ids + [app.client_id for app in self.applications.values()]

    def reset(self) -> None:
        """Back to the initial state for this seed (same org, env and connected app ids)."""
        self.install(new_parts(self.clock, self.seed_value, self.hooks, self.token_ttl_s))

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to rebuild this state (JSON-compatible)."""
        return dump_state(self)

    def restore(self, snapshot: Any) -> None:
        """Replace the state with a ``snapshot()``: the whole document is validated first
        (ValueError naming the field), then applied all at once."""
        self.install(load_parts(self, snapshot))

    def seed(self, spec: ControlPlaneSpec | dict[str, Any]) -> SeedResult:
        """Add a ``control_plane:`` document (a ``ControlPlaneSpec`` or its JSON form); all or
        nothing (ValueError, or pydantic's ValidationError for a malformed document)."""
        from .seed import seed_all_or_nothing

        return seed_all_or_nothing(self, spec)

    # -- environments, APIs and policies (``Organization``, ``Catalog``) ----------------------

    def create_environment(
        self, name: str, *, is_production: bool = False, type: str | None = None
    ) -> Environment:
        return self.parts.org.create_environment(name, is_production=is_production, type=type)

    def environment(self, env_id: str) -> Environment:
        return self.parts.org.environment(env_id)

    def create_api(self, asset_id: str, **fields: Any) -> int:
        """A new API instance; ``fields`` as ``Catalog.create_api``. Returns its id."""
        return self.parts.catalog.create_api(asset_id, **fields)

    def api(self, api_id: int) -> Api:
        return self.parts.catalog.api(api_id)

    def api_in(self, api_id: int, env_id: str) -> Api:
        return self.parts.catalog.api_in(api_id, env_id)

    def list_apis(self, env_id: str | None = None) -> list[Api]:
        return self.parts.catalog.list_apis(env_id)

    def edit_api(self, api_id: int, **fields: Any) -> Api:
        return self.parts.catalog.edit_api(api_id, **fields)

    def delete_api(self, api_id: int) -> None:
        """Remove an API with its policies, tiers and contracts."""
        self.parts.catalog.delete_api(api_id)
        self.parts.deals.drop_api(api_id)
        self.core.bump()
        self.core.changed()

    def bind_service(
        self,
        service: str,
        *,
        api_id: int | None = None,
        asset_id: str | None = None,
        product_version: str = "v1",
    ) -> int:
        return self.parts.catalog.bind_service(
            service, api_id=api_id, asset_id=asset_id, product_version=product_version
        )

    def unbind_service(self, service: str, api_id: int) -> None:
        self.parts.catalog.unbind_service(service, api_id)

    def keepalive(self, adapter_id: str, api_ids: list[int], version: str) -> list[int]:
        """Record a keep-alive; returns the API ids it refreshed (unknown ids are ignored)."""
        known = self.parts.catalog.mark_active(adapter_id, api_ids)
        self.parts.records.note_keepalive(adapter_id, api_ids, version)
        self.core.changed()
        return known

    def api_status(self, api: Api) -> str:
        return self.parts.catalog.api_status(api)

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
        return self.parts.catalog.apply_policy(
            api_id,
            asset_id,
            configuration,
            asset_version=asset_version,
            order=order,
            disabled=disabled,
            cut=pointcut,
            group_id=group_id,
        )

    def policy(self, api_id: int, policy_id: int) -> Policy:
        return self.parts.catalog.policy(api_id, policy_id)

    def policies_of(self, api_id: int) -> list[Policy]:
        return self.parts.catalog.policies_of(api_id)

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
        return self.parts.catalog.edit_policy(
            api_id,
            policy_id,
            config=configuration,
            cut=pointcut,
            order=order,
            disabled=disabled,
            asset_version=asset_version,
        )

    def set_policy_disabled(self, api_id: int, policy_id: int, disabled: bool) -> Policy:
        return self.edit_policy(api_id, policy_id, disabled=disabled)

    def reorder_policies(self, api_id: int, orders: dict[int, int]) -> None:
        self.parts.catalog.reorder_policies(api_id, orders)

    def remove_policy(self, api_id: int, policy_id: int) -> None:
        self.parts.catalog.remove_policy(api_id, policy_id)

    # -- Exchange assets (``Exchange``) -------------------------------------------------------

    def publish_asset(self, group_id: str, asset_id: str, version: str, **fields: Any) -> Asset:
        return self.parts.exchange.publish_asset(group_id, asset_id, version, **fields)

    def assets(self) -> list[Asset]:
        return self.parts.exchange.assets()

    def asset(self, group_id: str, asset_id: str, version: str) -> Asset:
        return self.parts.exchange.asset(group_id, asset_id, version)

    def delete_asset(self, group_id: str, asset_id: str, version: str) -> None:
        self.parts.exchange.delete_asset(group_id, asset_id, version)

    # -- tiers, applications, contracts (``Contracts``) ---------------------------------------

    def add_tier(
        self,
        api_id: int,
        name: str,
        limits: list[dict[str, Any]],
        auto_approve: bool = True,
        *,
        description: str = "",
    ) -> int:
        return self.parts.deals.add_tier(
            api_id, name, limits, auto_approve, description=description
        )

    def tier(self, api_id: int, tier_id: int) -> Tier:
        return self.parts.deals.tier(api_id, tier_id)

    def tiers_of(self, api_id: int) -> list[Tier]:
        return self.parts.deals.tiers_of(api_id)

    def edit_tier(self, api_id: int, tier_id: int, **fields: Any) -> Tier:
        """Change a tier (``limits``, ``name``, ``auto_approve``, ``description``)."""
        return self.parts.deals.edit_tier(api_id, tier_id, **fields)

    def delete_tier(self, api_id: int, tier_id: int) -> None:
        self.parts.deals.delete_tier(api_id, tier_id)

    def create_application(
        self,
        name: str,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        description: str = "",
    ) -> Application:
        deals = self.parts.deals
        return deals.create_application(name, client_id, client_secret, description=description)

    def application(self, application_id: int) -> Application:
        return self.parts.deals.application(application_id)

    def edit_application(self, application_id: int, **fields: Any) -> Application:
        return self.parts.deals.edit_application(application_id, **fields)

    def reset_application_secret(self, application_id: int) -> Application:
        return self.parts.deals.reset_application_secret(application_id)

    def delete_application(self, application_id: int) -> None:
        self.parts.deals.delete_application(application_id)

    def create_contract(self, api_id: int, application_id: int, tier_id: int | None = None) -> int:
        return self.parts.deals.create_contract(api_id, application_id, tier_id)

    def contract(self, api_id: int, contract_id: int) -> Contract:
        return self.parts.deals.contract(api_id, contract_id)

    def contracts_of(self, api_id: int) -> list[Contract]:
        return self.parts.deals.contracts_of(api_id)

    def set_contract_status(self, api_id: int, contract_id: int, status: str) -> Contract:
        return self.parts.deals.set_contract_status(api_id, contract_id, status)

    def delete_contract(self, api_id: int, contract_id: int) -> None:
        self.parts.deals.delete_contract(api_id, contract_id)

    def contracts_feed(
        self, api_id: int, updated_since: int | None, limit: int
    ) -> tuple[list[Contract], int, int | None]:
        return self.parts.deals.contracts_feed(api_id, updated_since, limit)

    # -- the adapter sync API's bodies (``sync_bodies``) --------------------------------------

    def sync_apis(self, env_id: str | None = None) -> dict[str, Any]:
        return sync_bodies.sync_apis(self, env_id)

    def sync_policies(self, api_id: int, env_id: str | None = None) -> dict[str, Any]:
        return sync_bodies.sync_policies(self, api_id, env_id)

    def sync_contracts(self, api_id: int, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """One contracts-feed page (arguments as ``sync_bodies.sync_contracts``)."""
        return sync_bodies.sync_contracts(self, api_id, *args, **kwargs)

    # -- records (``Records``) ----------------------------------------------------------------

    def issue_token(self, client_id: Any, client_secret: Any) -> Token:
        return self.parts.records.issue_token(client_id, client_secret)

    def expire_tokens(self) -> int:
        return self.parts.records.expire_tokens()

    def add_fault(self, spec: FaultSpec) -> ActiveFault:
        return self.parts.records.add_fault(spec)

    def clear_faults(self) -> None:
        self.parts.records.clear_faults()

    def faults(self) -> list[ActiveFault]:
        return self.parts.records.faults()

    def journal(self, data: str | None = None) -> list[JournalEntry]:
        return self.parts.records.journal(data)

    def ingest(self, batch_id: str, events: list[dict[str, Any]], size_bytes: int) -> bool:
        return self.parts.records.ingest(batch_id, events, size_bytes)

    def analytics_batches(self) -> list[IngestBatch]:
        return self.parts.records.analytics_batches()

    def analytics_events(self) -> list[dict[str, Any]]:
        return self.parts.records.analytics_events()

    def keepalives(self) -> list[dict[str, Any]]:
        return self.parts.records.keepalives()
