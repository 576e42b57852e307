"""Tiers, client applications and contracts of a ``ControlPlaneState`` (a mixin), including the
sequence numbers that drive the contracts feed's cursors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from common.clock import Clock

from . import checks
from .model import CONTRACT_STATUSES, Api, Application, Contract, NotFoundError, Tier


class ContractsMixin:
    """SLA tiers, applications and contracts; every change gets a new revision number."""

    clock: Clock
    rev: int
    tiers: dict[int, Tier]
    applications: dict[int, Application]
    contracts: dict[int, Contract]

    if TYPE_CHECKING:

        def api(self, api_id: int) -> Api: ...
        def _next(self, kind: str) -> int: ...
        def _bump(self) -> int: ...
        def _changed(self) -> None: ...
        def _hex(self) -> str: ...

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
        api = self.api(api_id)
        checks.text("name", name)
        checks.boolean("auto_approve", auto_approve)
        norm = checks.limits("limits", limits)
        if any(t.name == name for t in self.tiers.values() if t.api_id == api_id):
            raise ValueError(f"name: API {api_id} already has a tier named {name!r}")
        now = self.clock.wall()
        tier = Tier(self._next("tier"), api.id, name, description, auto_approve, norm, now, now)
        self.tiers[tier.id] = tier
        self._bump()
        self._changed()
        return tier.id

    def tier(self, api_id: int, tier_id: int) -> Tier:
        self.api(api_id)
        tier = self.tiers.get(tier_id) if isinstance(tier_id, int) else None
        if tier is None or tier.api_id != api_id:
            raise NotFoundError(f"tier {tier_id!r} not found on API {api_id}")
        return tier

    def tiers_of(self, api_id: int) -> list[Tier]:
        self.api(api_id)
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
        norm = checks.limits("limits", limits) if limits is not None else tier.limits
        if name is not None:
            checks.text("name", name)
        if auto_approve is not None:
            checks.boolean("auto_approve", auto_approve)
        tier.limits = norm
        tier.name = name or tier.name
        tier.auto_approve = tier.auto_approve if auto_approve is None else auto_approve
        tier.description = tier.description if description is None else description
        tier.updated_wall = self.clock.wall()
        for contract in self.contracts.values():
            if contract.tier_id == tier_id and not contract.deleted:
                contract.seq = self._bump()
        self._bump()
        self._changed()
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
        self._bump()
        self._changed()

    # -- applications -------------------------------------------------------------------------

    def create_application(
        self,
        name: str,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        description: str = "",
    ) -> Application:
        checks.text("name", name)
        if client_id is not None:
            checks.text("client_id", client_id)
        if client_secret is not None:
            checks.text("client_secret", client_secret)
        cid = client_id or self._hex()
        secret = client_secret or self._hex()
        if any(a.client_id == cid for a in self.applications.values()):
            raise ValueError(f"client_id: {cid!r} is already used by another application")
        now = self.clock.wall()
        app = Application(self._next("application"), name, cid, secret, description, now, now)
        self.applications[app.id] = app
        self._changed()
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
            checks.text("name", name)
            app.name = name
        if description is not None:
            app.description = description
        app.updated_wall = self.clock.wall()
        self._touch_contracts_of(application_id)
        return app

    def reset_application_secret(self, application_id: int) -> Application:
        app = self.application(application_id)
        app.client_secret = self._hex()
        app.updated_wall = self.clock.wall()
        self._touch_contracts_of(application_id)
        return app

    def delete_application(self, application_id: int) -> None:
        """Delete an application; its contracts leave the feed as removed."""
        self.application(application_id)
        for contract in self.contracts.values():
            if contract.application_id == application_id and not contract.deleted:
                contract.deleted = True
                contract.seq = self._bump()
        del self.applications[application_id]
        self._changed()

    def _touch_contracts_of(self, application_id: int) -> None:
        for contract in self.contracts.values():
            if contract.application_id == application_id and not contract.deleted:
                contract.seq = self._bump()
        self._changed()

    # -- contracts ----------------------------------------------------------------------------

    def create_contract(self, api_id: int, application_id: int, tier_id: int | None = None) -> int:
        """A contract; PENDING when its tier needs approval, else APPROVED."""
        api = self.api(api_id)
        app = self.application(application_id)
        tier = self.tier(api_id, tier_id) if tier_id is not None else None
        for c in self.contracts.values():
            if c.api_id == api_id and c.application_id == application_id and not c.deleted:
                raise ValueError(
                    f"applicationId: application {app.id} already has contract {c.id} "
                    f"with API {api.id}"
                )
        now = self.clock.wall()
        approved = tier is None or tier.auto_approve
        contract = Contract(
            self._next("contract"),
            api.id,
            app.id,
            tier.id if tier else None,
            tier.id if tier else None,
            "APPROVED" if approved else "PENDING",
            self._bump(),
            now,
            now,
            approved_wall=now if approved else None,
        )
        self.contracts[contract.id] = contract
        self._changed()
        return contract.id

    def contract(self, api_id: int, contract_id: int) -> Contract:
        self.api(api_id)
        c = self.contracts.get(contract_id) if isinstance(contract_id, int) else None
        if c is None or c.api_id != api_id or c.deleted:
            raise NotFoundError(f"contract {contract_id!r} not found on API {api_id}")
        return c

    def contracts_of(self, api_id: int) -> list[Contract]:
        self.api(api_id)
        return sorted(
            (c for c in self.contracts.values() if c.api_id == api_id and not c.deleted),
            key=lambda c: c.id,
        )

    def set_contract_status(self, api_id: int, contract_id: int, status: str) -> Contract:
        c = self.contract(api_id, contract_id)
        if status not in CONTRACT_STATUSES:
            raise ValueError(f"status: {status!r} is not one of {', '.join(CONTRACT_STATUSES)}")
        now = self.clock.wall()
        c.status = status
        if status == "APPROVED":
            c.approved_wall = now
            c.tier_id = c.tier_id if c.tier_id is not None else c.requested_tier_id
        elif status == "REVOKED":
            c.revoked_wall = now
        elif status == "REJECTED":
            c.rejected_wall = now
        c.updated_wall = now
        c.seq = self._bump()
        self._changed()
        return c

    def delete_contract(self, api_id: int, contract_id: int) -> None:
        """Delete a contract; the feed reports it once more as removed."""
        c = self.contract(api_id, contract_id)
        c.deleted = True
        c.updated_wall = self.clock.wall()
        c.seq = self._bump()
        self._changed()

    def contracts_feed(
        self, api_id: int, updated_since: int | None, limit: int
    ) -> tuple[list[Contract], int, int | None]:
        """One feed page: (contracts, cursor, next updatedSince or None when this is the last)."""
        self.api(api_id)
        mine = [c for c in self.contracts.values() if c.api_id == api_id]
        if updated_since is None:
            found = [c for c in mine if c.status == "APPROVED" and not c.deleted]
        else:
            found = [c for c in mine if c.seq > updated_since]
        found.sort(key=lambda c: c.seq)
        if len(found) > limit:
            page = found[:limit]
            return page, page[-1].seq, page[-1].seq
        return found, self.rev, None
