"""The decision core: `DecisionEngine` holds the APIs to enforce, their policy chains and the
contract store, and answers `decide(request, now)`. No I/O, no clock reads: sync drivers and
the what-if engine feed it state and time."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from reference_adapter.contracts import Contract, ContractStore
from reference_adapter.jwks import JwksRegistry
from reference_adapter.model import CheckInput, Decision, Denial
from reference_adapter.policies.base import AsyncPolicy, PolicyConfigError, PolicyContext, TimeBase
from reference_adapter.policies.registry import AppliedPolicy, build_chain
from reference_adapter.windows import InMemoryWindows, WindowCounters

Gatekeeper = Literal["strict", "flexible", "disabled"]
GATEKEEPER_MODES: tuple[str, ...] = ("strict", "flexible", "disabled")

UNKNOWN_API = Denial.of(403, "unknown API")
NOT_READY = Denial.of(503, "API not ready: waiting for the first policy and contract sync")
UNREACHABLE = Denial.of(503, "control plane unreachable (gatekeeper strict)")


@dataclass(slots=True)
class ApiState:
    """What the engine knows about one API instance."""

    api_id: str
    policies_loaded: bool = False
    policies_version: str | None = None
    policies: tuple[AppliedPolicy, ...] = ()
    chain: tuple[AppliedPolicy, ...] = ()
    config_error: str | None = None
    gate: Denial | None = None
    needs_async: bool = False
    info: dict[str, Any] = field(default_factory=dict)


class DecisionEngine:
    """Per-API policy sets plus a contract store; `decide` is the only hot-path method.

    Gatekeeper (``strict``, ``flexible``, ``disabled``): with the first two an API answers 503
    until its policies (and, when a contract-based policy is applied, its contracts) were loaded
    once; ``strict`` also answers 503 while `set_reachable(False)`. A policy that cannot be
    configured keeps its API at 503 whatever the mode. Unknown APIs get 403, or 503 while no
    API list was ever loaded (unless the gatekeeper is disabled).
    """

    def __init__(
        self,
        gatekeeper: str = "flexible",
        contracts: ContractStore | None = None,
        shared_windows: WindowCounters | None = None,
        *,
        epoch_offset: float = 0.0,
        rng: random.Random | None = None,
    ):
        if gatekeeper not in GATEKEEPER_MODES:
            raise ValueError(
                f"gatekeeper={gatekeeper!r} is invalid: expected one of "
                + ", ".join(GATEKEEPER_MODES)
            )
        self.gatekeeper = gatekeeper
        self.contracts = contracts if contracts is not None else ContractStore()
        self.shared_windows = shared_windows if shared_windows is not None else InMemoryWindows()
        self.time_base = TimeBase(epoch_offset)
        self.jwks = JwksRegistry(rng or random.Random(0))
        self._apis: dict[str, ApiState] = {}
        self._apis_known = False
        self._reachable = True
        self.decisions = 0

    # ---- state loading (sync drivers, what-if engine, tests) ----

    def set_apis(
        self, api_ids: Iterable[str | int], info: Mapping[str, Any] | None = None
    ) -> list[str]:
        """Declare the full list of APIs to enforce; returns the ids that are new. APIs not in
        the list are forgotten (their requests get 403)."""
        wanted = [str(a) for a in api_ids]
        new = [a for a in wanted if a not in self._apis]
        for api_id in list(self._apis):
            if api_id not in wanted:
                self.remove_api(api_id)
        for api_id in new:
            self._apis[api_id] = ApiState(api_id)
            self._refresh_gate(self._apis[api_id])
        if info:
            for api_id, extra in info.items():
                if str(api_id) in self._apis:
                    self._apis[str(api_id)].info = dict(extra)
        self._apis_known = True
        return new

    def add_api(self, api_id: str | int) -> None:
        api = str(api_id)
        if api not in self._apis:
            self._apis[api] = ApiState(api)
            self._refresh_gate(self._apis[api])
        self._apis_known = True

    def remove_api(self, api_id: str | int) -> None:
        self._apis.pop(str(api_id), None)
        self.contracts.forget(str(api_id))

    def api_ids(self) -> list[str]:
        return list(self._apis)

    def api(self, api_id: str | int) -> ApiState | None:
        return self._apis.get(str(api_id))

    def load_policies(
        self, api_id: str | int, policies: Sequence[Mapping[str, Any]], version: str | None = None
    ) -> str | None:
        """Install an API's applied policies (API Manager JSON). Returns None, or the
        configuration error that now keeps the API at 503 (the previous chain is dropped:
        a malformed policy is never silently skipped)."""
        api = self._state(api_id)
        try:
            context = PolicyContext(api.api_id, 0, self.shared_windows, self.jwks, self.time_base)
            chain = build_chain(policies, api.policies, context)
        except PolicyConfigError as exc:
            api.policies = ()
            api.chain = ()
            api.config_error = str(exc)
        else:
            api.policies = chain
            api.chain = tuple(p for p in chain if not p.disabled)
            api.config_error = None
        api.needs_async = any(p.impl.is_async for p in api.chain)
        api.policies_loaded = True
        api.policies_version = version
        self._refresh_gate(api)
        return api.config_error

    def load_contracts(
        self, api_id: str | int, items: Iterable[Mapping[str, Any]], cursor: str | None = None
    ) -> None:
        """Install a full contracts snapshot (feed JSON items) for an API."""
        api = self._state(api_id)
        self.contracts.replace(api.api_id, items, cursor)
        self._refresh_gate(api)

    def apply_contract_changes(
        self, api_id: str | int, items: Iterable[Mapping[str, Any]], cursor: str | None
    ) -> None:
        """Apply incremental feed items (``updatedSince``) for an API."""
        api = self._state(api_id)
        self.contracts.apply_changes(api.api_id, items, cursor)
        self._refresh_gate(api)

    def put_contracts(self, api_id: str | int, contracts: Iterable[Contract]) -> None:
        """Install `Contract` objects directly (what-if engines, tests)."""
        api = self._state(api_id)
        self.contracts.put(api.api_id, contracts)
        self._refresh_gate(api)

    def set_reachable(self, reachable: bool) -> None:
        """Tell the engine whether the control plane answers (only ``strict`` cares)."""
        if reachable != self._reachable:
            self._reachable = reachable
            for api in self._apis.values():
                self._refresh_gate(api)

    @property
    def reachable(self) -> bool:
        return self._reachable

    def needs_async(self, api_id: str) -> bool:
        """Whether requests for this API must go through `decide_async` (a policy needs I/O)."""
        api = self._apis.get(api_id)
        return api is not None and api.needs_async

    def ready(self, api_id: str | int | None = None) -> bool:
        """Whether an API (or, with no argument, every known API) answers without the gate."""
        if api_id is None:
            return self._apis_known and all(a.gate is None for a in self._apis.values())
        api = self._apis.get(str(api_id))
        return api is not None and api.gate is None

    def status(self) -> dict[str, Any]:
        """A JSON-able summary for traces and health endpoints."""
        return {
            "gatekeeper": self.gatekeeper,
            "reachable": self._reachable,
            "apis": {
                a.api_id: {
                    "ready": a.gate is None,
                    "gate": a.gate.message if a.gate else None,
                    "policies_version": a.policies_version,
                    "policies": [
                        {"policyId": p.ref.policy_id, "assetId": p.ref.name, "disabled": p.disabled}
                        for p in a.policies
                    ],
                    "contracts": len(self.contracts.table(a.api_id)),
                    "config_error": a.config_error,
                }
                for a in self._apis.values()
            },
        }

    def _state(self, api_id: str | int) -> ApiState:
        key = str(api_id)
        api = self._apis.get(key)
        if api is None:
            api = self._apis[key] = ApiState(key)
            self._apis_known = True
        return api

    def _refresh_gate(self, api: ApiState) -> None:
        if api.config_error is not None:
            api.gate = Denial.of(503, f"policy configuration error: {api.config_error}")
            return
        if self.gatekeeper == "disabled":
            api.gate = None
            return
        needs_contracts = any(p.impl.uses_contracts for p in api.chain)
        if not api.policies_loaded or (needs_contracts and not self.contracts.loaded(api.api_id)):
            api.gate = NOT_READY
        elif self.gatekeeper == "strict" and not self._reachable:
            api.gate = UNREACHABLE
        else:
            api.gate = None

    # ---- the hot path ----

    def decide(self, request: CheckInput, now: float) -> Decision:
        """Decide one request at time ``now`` (seconds on the engine's clock)."""
        self.decisions += 1
        decision = Decision(request.api_id)
        api = self._apis.get(request.api_id)
        if api is None:
            if not self._apis_known and self.gatekeeper != "disabled":
                return decision.deny(NOT_READY, None)
            return decision.deny(UNKNOWN_API, None)
        if api.gate is not None:
            return decision.deny(api.gate, None)
        contracts = self.contracts.table(request.api_id)
        for applied in api.chain:
            if applied.pointcuts and not applied.applies_to(request):
                continue
            denial = applied.impl.check(request, now, decision, contracts)
            if denial is not None:
                return decision.deny(denial, applied.ref)
        return decision

    async def decide_async(self, request: CheckInput, now: float) -> Decision:
        """`decide` for chains with I/O policies (LDAP, Redis counters): awaits their
        ``check_async``. Falls back to `decide` when the API needs no I/O."""
        api = self._apis.get(request.api_id)
        if api is None or api.gate is not None or not api.needs_async:
            return self.decide(request, now)
        self.decisions += 1
        decision = Decision(request.api_id)
        contracts = self.contracts.table(request.api_id)
        for applied in api.chain:
            if applied.pointcuts and not applied.applies_to(request):
                continue
            impl = applied.impl
            if impl.is_async:
                denial = await cast(AsyncPolicy, impl).check_async(
                    request, now, decision, contracts
                )
            else:
                denial = impl.check(request, now, decision, contracts)
            if denial is not None:
                return decision.deny(denial, applied.ref)
        return decision
