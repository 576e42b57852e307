"""The contracts part of the state: SLA tiers, client applications and contracts, with the
sequence numbers that drive the contracts feed's cursors.
"""

from __future__ import annotations

from typing import Any

from .catalog import Catalog
from .core import Core
from .inputs import limits as wire_limits
from .inputs import text
from .model import CONTRACT_STATUSES, Application, ConflictError, Contract, NotFoundError, Tier

ACTIONS: dict[str, tuple[frozenset[str], str]] = {
    "approve": (frozenset({"PENDING"}), "APPROVED"),
    "reject": (frozenset({"PENDING"}), "REJECTED"),
    "revoke": (frozenset({"APPROVED"}), "REVOKED"),
    "restore": (frozenset({"REVOKED"}), "APPROVED"),
}
"""Contract actions (``POST …/contracts/{id}/{action}``): the statuses they apply to, the result."""


class Contracts:
    """SLA tiers, applications and contracts; every change gets a new revision number."""

    def __init__(self, core: Core, catalog: Catalog) -> None:
        self.core = core
        self.catalog = catalog
        self.tiers: dict[int, Tier] = {}
        self.applications: dict[int, Application] = {}
        self.contracts: dict[int, Contract] = {}

    def drop_api(self, api_id: int) -> None:
        """Forget the tiers and contracts of a deleted API."""
        for store in (self.tiers, self.contracts):
            for key in [k for k, v in store.items() if v.api_id == api_id]:
                del store[key]

    # -- tiers --------------------------------------------------------------------------------

    def add_tier(
        self,
        api_id: int,
        name: str,
        limits: list[dict[str, Any]],
        auto_approve: bool = True,
        *,
        description: str = "",
    ) -> int:
        api = self.catalog.api(api_id)
        text("name", name)
        _flag("auto_approve", auto_approve)
        norm = wire_limits(limits)
        if any(t.name == name for t in self.tiers.values() if t.api_id == api_id):
            raise ValueError(f"name: API {api_id} already has a tier named {name!r}")
        now = self.core.wall()
        tier = Tier(self.core.next("tier"), api.id, name, description, auto_approve, norm, now, now)
        self.tiers[tier.id] = tier
        self.core.bump()
        self.core.changed()
        return tier.id

    def tier(self, api_id: int, tier_id: int) -> Tier:
        self.catalog.api(api_id)
        tier = self.tiers.get(tier_id) if isinstance(tier_id, int) else None
        if tier is None or tier.api_id != api_id:
            raise NotFoundError(f"tier {tier_id!r} not found on API {api_id}")
        return tier

    def tiers_of(self, api_id: int) -> list[Tier]:
        self.catalog.api(api_id)
        return sorted((t for t in self.tiers.values() if t.api_id == api_id), key=lambda t: t.id)

    def edit_tier(
        self,
        api_id: int,
        tier_id: int,
        *,
        limits: list[dict[str, Any]] | None = None,
        name: str | None = None,
        auto_approve: bool | None = None,
        description: str | None = None,
    ) -> Tier:
        """Change a tier; contracts on it reappear in the contracts feed with the new limits."""
        tier = self.tier(api_id, tier_id)
        norm = wire_limits(limits) if limits is not None else tier.limits
        if name is not None:
            text("name", name)
        if auto_approve is not None:
            _flag("auto_approve", auto_approve)
        tier.limits = norm
        tier.name = name or tier.name
        tier.auto_approve = tier.auto_approve if auto_approve is None else auto_approve
        tier.description = tier.description if description is None else description
        tier.updated_wall = self.core.wall()
        for contract in self.contracts.values():
            if contract.tier_id == tier_id and not contract.deleted:
                contract.seq = self.core.bump()
        self.core.bump()
        self.core.changed()
        return tier

    def delete_tier(self, api_id: int, tier_id: int) -> None:
        """Delete a tier that no live contract uses (ValueError otherwise)."""
        self.tier(api_id, tier_id)
        used = [c.id for c in self.contracts.values() if c.tier_id == tier_id and not c.deleted]
        if used:
            raise ValueError(
                f"tierId: tier {tier_id} is used by contracts {used}; delete those contracts first"
            )
        del self.tiers[tier_id]
        self.core.bump()
        self.core.changed()

    # -- applications -------------------------------------------------------------------------

    def create_application(
        self,
        name: str,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        description: str = "",
    ) -> Application:
        text("name", name)
        if client_id is not None:
            text("client_id", client_id)
        if client_secret is not None:
            text("client_secret", client_secret)
        cid = client_id or self.core.hex()
        secret = client_secret or self.core.hex()
        if any(a.client_id == cid for a in self.applications.values()):
            raise ValueError(f"client_id: {cid!r} is already used by another application")
        now = self.core.wall()
        app = Application(self.core.next("application"), name, cid, secret, description, now, now)
        self.applications[app.id] = app
        self.core.changed()
        return app

    def application(self, application_id: int) -> Application:
        app = self.applications.get(application_id) if isinstance(application_id, int) else None
        if app is None:
            raise NotFoundError(f"application {application_id!r} not found")
        return app

    def edit_application(
        self, application_id: int, *, name: str | None = None, description: str | None = None
    ) -> Application:
        app = self.application(application_id)
        if name is not None:
            text("name", name)
            app.name = name
        if description is not None:
            app.description = description
        app.updated_wall = self.core.wall()
        self._touch_contracts_of(application_id)
        return app

    def reset_application_secret(self, application_id: int) -> Application:
        app = self.application(application_id)
        app.client_secret = self.core.hex()
        app.updated_wall = self.core.wall()
        self._touch_contracts_of(application_id)
        return app

    def delete_application(self, application_id: int) -> None:
        """Delete an application; its contracts leave the feed as removed."""
        self.application(application_id)
        for contract in self.contracts.values():
            if contract.application_id == application_id and not contract.deleted:
                contract.deleted = True
                contract.seq = self.core.bump()
        del self.applications[application_id]
        self.core.changed()

    def _touch_contracts_of(self, application_id: int) -> None:
        for contract in self.contracts.values():
            if contract.application_id == application_id and not contract.deleted:
                contract.seq = self.core.bump()
        self.core.changed()

    # -- contracts ----------------------------------------------------------------------------

    def create_contract(self, api_id: int, application_id: int, tier_id: int | None = None) -> int:
        """A contract; PENDING when its tier needs approval, else APPROVED."""
        api = self.catalog.api(api_id)
        app = self.application(application_id)
        tier = self.tier(api_id, tier_id) if tier_id is not None else None
        for c in self.contracts.values():
            if c.api_id == api_id and c.application_id == application_id and not c.deleted:
                raise ValueError(
                    f"applicationId: application {app.id} already has contract {c.id} "
                    f"with API {api.id}"
                )
        now = self.core.wall()
        approved = tier is None or tier.auto_approve
        contract = Contract(
            self.core.next("contract"),
            api.id,
            app.id,
            tier.id if tier else None,
            tier.id if tier else None,
            "APPROVED" if approved else "PENDING",
            self.core.bump(),
            now,
            now,
            approved_wall=now if approved else None,
        )
        self.contracts[contract.id] = contract
        self.core.changed()
        return contract.id

    def contract(self, api_id: int, contract_id: int) -> Contract:
        self.catalog.api(api_id)
        c = self.contracts.get(contract_id) if isinstance(contract_id, int) else None
        if c is None or c.api_id != api_id or c.deleted:
            raise NotFoundError(f"contract {contract_id!r} not found on API {api_id}")
        return c

    def contracts_of(self, api_id: int) -> list[Contract]:
        self.catalog.api(api_id)
        return sorted(
            (c for c in self.contracts.values() if c.api_id == api_id and not c.deleted),
            key=lambda c: c.id,
        )

    def set_contract_status(self, api_id: int, contract_id: int, status: str) -> Contract:
        c = self.contract(api_id, contract_id)
        if status not in CONTRACT_STATUSES:
            raise ValueError(f"status: {status!r} is not one of {', '.join(CONTRACT_STATUSES)}")
        now = self.core.wall()
        c.status = status
        if status == "APPROVED":
            c.approved_wall = now
            c.tier_id = c.tier_id if c.tier_id is not None else c.requested_tier_id
        elif status == "REVOKED":
            c.revoked_wall = now
        elif status == "REJECTED":
            c.rejected_wall = now
        c.updated_wall = now
        c.seq = self.core.bump()
        self.core.changed()
        return c

    def contract_action(self, api_id: int, contract_id: int, action: str) -> Contract:
        """``approve``, ``reject``, ``revoke`` or ``restore``; ConflictError (409) when the
        contract's status does not allow it."""
        c = self.contract(api_id, contract_id)
        if action not in ACTIONS:
            raise ValueError(f"action: {action!r} must be one of {', '.join(ACTIONS)}")
        sources, target = ACTIONS[action]
        if c.status not in sources:
            raise ConflictError(
                f"contract {contract_id} is {c.status}; {action} applies to "
                f"{' or '.join(sorted(sources))} contracts"
            )
        return self.set_contract_status(api_id, contract_id, target)

    def change_tier(
        self, api_id: int, contract_id: int, tier_id: int, *, request: bool
    ) -> Contract:
        """Move a contract to another tier of its API. ``request=True`` (``requestedTierId``)
        needs approval when the tier does; ``tierId`` moves it at once."""
        c = self.contract(api_id, contract_id)
        tier = self.tier(api_id, tier_id)
        c.requested_tier_id = tier.id
        if not request or tier.auto_approve:
            c.tier_id = tier.id
        c.updated_wall = self.core.wall()
        c.seq = self.core.bump()
        self.core.changed()
        return c

    def delete_contract(self, api_id: int, contract_id: int) -> None:
        """Delete a contract; the feed reports it once more as removed."""
        c = self.contract(api_id, contract_id)
        c.deleted = True
        c.updated_wall = self.core.wall()
        c.seq = self.core.bump()
        self.core.changed()

    def contracts_feed(
        self, api_id: int, updated_since: int | None, limit: int
    ) -> tuple[list[Contract], int, int | None]:
        """One feed page: (contracts, cursor, next updatedSince or None when this is the last)."""
        self.catalog.api(api_id)
        mine = [c for c in self.contracts.values() if c.api_id == api_id]
        if updated_since is None:
            found = [c for c in mine if c.status == "APPROVED" and not c.deleted]
        else:
            found = [c for c in mine if c.seq > updated_since]
        found.sort(key=lambda c: c.seq)
        if len(found) > limit:
            page = found[:limit]
            return page, page[-1].seq, page[-1].seq
        return found, self.core.rev, None


def _flag(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{field}: {value!r} must be true or false")
    return value
