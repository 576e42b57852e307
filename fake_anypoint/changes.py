"""Control-plane changes as a typed vocabulary: each change is one model that names objects by
their document keys and applies itself to a ``ControlPlaneState`` the way API Manager would.
Scenario steps and what-if timelines embed these models; nobody dispatches on strings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from .discovery import AssetType, discover
from .seed import (
    ApplicationSpec,
    ControlPlaneSpec,
    LimitSpec,
    Pointcut,
    PolicySpec,
    pointcut_wire,
)

if TYPE_CHECKING:
    from .model import SeedResult
    from .state import ControlPlaneState

SyncKind = Literal["policies", "contracts", "applications", "apis"]
"""Which sync must carry a change to the adapter."""


class ChangeError(LookupError):
    """A change names an object the document never seeded or created."""

    def __str__(self) -> str:
        return str(self.args[0])


def _look(table: dict[str, Any], key: str, what: str) -> Any:
    if key not in table:
        known = ", ".join(sorted(table)) or "none"
        raise ChangeError(f"no {what} named {key!r}; known: {known}")
    return table[key]


def _split(ref: str, what: str) -> str:
    api, sep, _ = ref.partition("/")
    if not sep:
        raise ChangeError(f"{what} {ref!r} must be written '<api key>/<{what} key>'")
    return api


class _Change(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    carried_by: ClassVar[SyncKind] = "contracts"
    """The sync that carries this change to an adapter."""


class ContractRef(_Change):
    """A contract named by its application and API keys."""

    application: str
    api: str

    @property
    def ref(self) -> str:
        return f"{self.application}/{self.api}"

    def ids(self, refs: SeedResult) -> tuple[int, int]:
        api_id: int = _look(refs.apis, self.api, "API")
        contract_id: int = _look(refs.contracts, self.ref, "contract (application/api)")
        return api_id, contract_id


class _StatusChange(ContractRef):
    status: ClassVar[str] = "REVOKED"

    def apply(self, state: ControlPlaneState, refs: SeedResult) -> str:
        api_id, contract_id = self.ids(refs)
        state.set_contract_status(api_id, contract_id, self.status)
        return f"contract {self.ref} (id {contract_id}) {self.status.lower()}"


class RevokeContract(_StatusChange):
    """Revoke a contract: it stops granting access at the next contracts sync."""


class ApproveContract(_StatusChange):
    """Approve (or restore) a contract."""

    status: ClassVar[str] = "APPROVED"


class RejectContract(_StatusChange):
    """Reject a pending contract."""

    status: ClassVar[str] = "REJECTED"


class DeleteContract(ContractRef):
    """Delete a contract."""

    def apply(self, state: ControlPlaneState, refs: SeedResult) -> str:
        api_id, contract_id = self.ids(refs)
        state.delete_contract(api_id, contract_id)
        return f"contract {self.ref} (id {contract_id}) deleted"


class CreateContract(ContractRef):
    """Create a contract; approved at once unless its tier needs manual approval."""

    tier: str | None = None

    def apply(self, state: ControlPlaneState, refs: SeedResult) -> str:
        api_id: int = _look(refs.apis, self.api, "API")
        app = _look(refs.applications, self.application, "application")
        tier_id = (
            _look(refs.tiers, f"{self.api}/{self.tier}", "tier") if self.tier is not None else None
        )
        contract_id = state.create_contract(api_id, app.id, tier_id)
        refs.contracts[self.ref] = contract_id
        return f"contract {self.ref} created (id {contract_id})"


class ApplyPolicy(PolicySpec):
    """Apply a policy to an API while the document runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    carried_by: ClassVar[SyncKind] = "policies"
    api: str

    def apply(self, state: ControlPlaneState, refs: SeedResult) -> str:
        """Make the change on ``state``; ``refs`` maps keys to ids and learns new objects.
        Returns a one-line summary for traces."""
        api_id: int = _look(refs.apis, self.api, "API")
        policy_id = state.apply_policy(
            api_id,
            self.asset_id,
            dict(self.configuration),
            asset_version=self.asset_version,
            order=self.order,
            disabled=self.disabled,
            pointcut=pointcut_wire(self.pointcut),
        )
        ref = f"{self.api}/{self.name}"
        refs.policies[ref] = policy_id
        return f"policy {ref} applied (id {policy_id})"


class PolicyRef(_Change):
    """A policy named ``<api key>/<policy key>``."""

    carried_by: ClassVar[SyncKind] = "policies"
    policy: str

    def ids(self, refs: SeedResult) -> tuple[int, int]:
        api_id: int = _look(refs.apis, _split(self.policy, "policy"), "API")
        policy_id: int = _look(refs.policies, self.policy, "policy (api/key)")
        return api_id, policy_id


class EditPolicy(PolicyRef):
    """New configuration, pointcut or order for an applied policy (unset fields stay)."""

    configuration: dict[str, Any] | None = None
    pointcut: list[Pointcut] | None = None
    order: int | None = Field(None, ge=1, le=10_000)

    def apply(self, state: ControlPlaneState, refs: SeedResult) -> str:
        api_id, policy_id = self.ids(refs)
        changes: dict[str, Any] = {}
        if self.configuration is not None:
            changes["configuration"] = dict(self.configuration)
        if self.pointcut is not None:
            changes["pointcut"] = pointcut_wire(self.pointcut)
        if self.order is not None:
            changes["order"] = self.order
        state.edit_policy(api_id, policy_id, **changes)
        return f"policy {self.policy} (id {policy_id}) edited"


class DisablePolicy(PolicyRef):
    """Disable an applied policy (it stays applied)."""

    def apply(self, state: ControlPlaneState, refs: SeedResult) -> str:
        api_id, policy_id = self.ids(refs)
        state.set_policy_disabled(api_id, policy_id, True)
        return f"policy {self.policy} (id {policy_id}) disabled"


class EnablePolicy(PolicyRef):
    """Enable a disabled policy."""

    def apply(self, state: ControlPlaneState, refs: SeedResult) -> str:
        api_id, policy_id = self.ids(refs)
        state.set_policy_disabled(api_id, policy_id, False)
        return f"policy {self.policy} (id {policy_id}) enabled"


class RemovePolicy(PolicyRef):
    """Remove a policy from its API."""

    def apply(self, state: ControlPlaneState, refs: SeedResult) -> str:
        api_id, policy_id = self.ids(refs)
        state.remove_policy(api_id, policy_id)
        refs.policies.pop(self.policy, None)
        return f"policy {self.policy} (id {policy_id}) removed"


class EditTier(_Change):
    """New limits for a tier named ``<api key>/<tier key>``; its contracts reappear in the
    contracts feed."""

    tier: str
    limits: list[LimitSpec] = Field(min_length=1, max_length=100)

    def apply(self, state: ControlPlaneState, refs: SeedResult) -> str:
        api_id: int = _look(refs.apis, _split(self.tier, "tier"), "API")
        tier_id: int = _look(refs.tiers, self.tier, "tier (api/key)")
        state.edit_tier(api_id, tier_id, limits=[limit.wire() for limit in self.limits])
        shown = ", ".join(f"{x.maximum_requests}/{x.time_period_ms}ms" for x in self.limits)
        return f"tier {self.tier} limits {shown}"


class CreateApplication(ApplicationSpec):
    """Create a client application (credentials generated when not given)."""

    carried_by: ClassVar[SyncKind] = "applications"

    def apply(self, state: ControlPlaneState, refs: SeedResult) -> str:
        app = state.create_application(self.name or self.key, self.client_id, self.client_secret)
        refs.applications[self.key] = app
        return f"application {self.key} created (id {app.id})"


class BindService(_Change):
    """Bind a mesh service to an API (by key), as service discovery does."""

    carried_by: ClassVar[SyncKind] = "apis"
    service: str = Field(min_length=1, max_length=253)
    api: str

    def apply(self, state: ControlPlaneState, refs: SeedResult) -> str:
        api_id: int = _look(refs.apis, self.api, "API")
        state.bind_service(self.service, api_id=api_id)
        return f"service {self.service} bound to {self.api}"


class UnbindService(_Change):
    """Delete a service's binding to an API (by key): the instance keeps its policies, tiers
    and contracts but leaves the API list once no service is bound to it; its route stays in
    the data plane (research/anypoint.md §5.3: a deleted binding can leave a traffic rule
    behind). A later `bind_service` brings the same API back."""

    carried_by: ClassVar[SyncKind] = "apis"
    service: str = Field(min_length=1, max_length=253)
    api: str

    def apply(self, state: ControlPlaneState, refs: SeedResult) -> str:
        api_id: int = _look(refs.apis, self.api, "API")
        state.unbind_service(self.service, api_id)
        return f"service {self.service} unbound from {self.api}"


class DeleteApi(_Change):
    """Delete an API instance with its policies, tiers and contracts: it leaves the API list."""

    carried_by: ClassVar[SyncKind] = "apis"
    api: str

    def apply(self, state: ControlPlaneState, refs: SeedResult) -> str:
        api_id: int = _look(refs.apis, self.api, "API")
        state.delete_api(api_id)
        del refs.apis[self.api]
        for table in (refs.policies, refs.tiers):
            for key in [k for k in table if k.startswith(f"{self.api}/")]:
                del table[key]
        for key in [k for k in refs.contracts if k.endswith(f"/{self.api}")]:
            del refs.contracts[key]
        return f"API {self.api} (id {api_id}) deleted"


class DiscoverService(_Change):
    """Service discovery: a mesh service of an asset type (``http``, ``rest``, ``soap``) gets an
    Exchange asset and an API instance under a new key ``api``, bound to the service."""

    carried_by: ClassVar[SyncKind] = "apis"
    service: str = Field(min_length=1, max_length=253)
    api: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
    asset_type: AssetType
    asset_id: str | None = Field(None, min_length=1, max_length=200)
    product_version: str = Field("v1", min_length=1, max_length=50)

    def apply(self, state: ControlPlaneState, refs: SeedResult) -> str:
        api_id = discover(
            state,
            self.service,
            self.asset_type,
            asset_id=self.asset_id,
            product_version=self.product_version,
        )
        refs.apis[self.api] = api_id
        return (
            f"service {self.service} discovered as {self.asset_type} API {self.api} (id {api_id})"
        )


Change = (
    RevokeContract
    | ApproveContract
    | RejectContract
    | DeleteContract
    | CreateContract
    | ApplyPolicy
    | EditPolicy
    | DisablePolicy
    | EnablePolicy
    | RemovePolicy
    | EditTier
    | CreateApplication
    | BindService
    | UnbindService
    | DiscoverService
    | DeleteApi
)
"""Any control-plane change."""

CHANGES: dict[str, type[Change]] = {
    "revoke_contract": RevokeContract,
    "approve_contract": ApproveContract,
    "reject_contract": RejectContract,
    "delete_contract": DeleteContract,
    "create_contract": CreateContract,
    "apply_policy": ApplyPolicy,
    "edit_policy": EditPolicy,
    "disable_policy": DisablePolicy,
    "enable_policy": EnablePolicy,
    "remove_policy": RemovePolicy,
    "edit_tier": EditTier,
    "create_application": CreateApplication,
    "bind_service": BindService,
    "unbind_service": UnbindService,
    "discover_service": DiscoverService,
    "delete_api": DeleteApi,
}
"""The key each change is written under in documents (``control_plane: {revoke_contract:
{...}}``)."""


class ExpireTokens(BaseModel):
    """Every access token issued so far expires now, as a real one does ``expires_in`` seconds
    (about an hour) after its login: calls bearing one get 401 ``{message}`` on every
    endpoint until the client logs in again. Not an API Manager change: what-if timelines,
    whose virtual adapters never log in, do not take it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def apply(self, state: ControlPlaneState, refs: SeedResult) -> str:
        live = state.expire_tokens()
        return f"access tokens expired ({live} still valid until now): clients must log in again"


AnyChange = Change | ExpireTokens
"""What a scenario's ``control_plane`` step makes: a change or a token expiry."""


class ChangeFields(BaseModel):
    """The keys a document writes a change under (``revoke_contract: {...}``), all optional:
    the documents that embed changes (scenario steps, what-if timeline events) extend this and
    say how many they take."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    revoke_contract: RevokeContract | None = None
    approve_contract: ApproveContract | None = None
    reject_contract: RejectContract | None = None
    delete_contract: DeleteContract | None = None
    create_contract: CreateContract | None = None
    apply_policy: ApplyPolicy | None = None
    edit_policy: EditPolicy | None = None
    disable_policy: DisablePolicy | None = None
    enable_policy: EnablePolicy | None = None
    remove_policy: RemovePolicy | None = None
    edit_tier: EditTier | None = None
    create_application: CreateApplication | None = None
    bind_service: BindService | None = None
    unbind_service: UnbindService | None = None
    discover_service: DiscoverService | None = None
    delete_api: DeleteApi | None = None

    def given_changes(self) -> list[str]:
        """The change keys this document gives."""
        return [key for key in CHANGES if getattr(self, key) is not None]


def dry_run(
    seed: ControlPlaneSpec, changes: Sequence[AnyChange], rng_seed: int = 0
) -> list[str | None]:
    """Apply ``changes`` in order to a scratch state seeded with ``seed``: for each change,
    None or why it cannot be made (an object it names does not exist by then). Documents check
    their changes this way at load time, with the same code that makes them at run time."""
    from common.clock import ManualClock

    from .model import NotFoundError
    from .state import ControlPlaneState

    state = ControlPlaneState(ManualClock(), rng_seed)
    refs = state.seed(seed)
    out: list[str | None] = []
    for change in changes:
        try:
            change.apply(state, refs)
            out.append(None)
        except (ChangeError, NotFoundError, ValueError) as exc:
            out.append(str(exc))
    return out
