"""rate-limiting-sla-based: the client's credentials (headers as in client-id-enforcement) must
match an APPROVED contract (401 otherwise, ``WWW-Authenticate: Client-ID-Enforcement``); the
limits come from that contract's SLA tier, one set of fixed windows per client; 429 over quota."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from reference_adapter.contracts import Contract
from reference_adapter.model import CheckInput, Decision, Denial
from reference_adapter.policies.base import ConfigReader, PolicyContext, header_from_expression
from reference_adapter.policies.client_id_enforcement import CLIENT_ID_CHALLENGE
from reference_adapter.policies.credentials import find_contract
from reference_adapter.policies.rate_limiting import apply_result
from reference_adapter.windows import AsyncWindowCounters, WindowCounters, windows_for


@dataclass(frozen=True, slots=True)
class SlaConfig:
    id_header: str
    secret_header: str | None
    expose_headers: bool
    clusterizable: bool

    @classmethod
    def parse(cls, configuration: Mapping[str, Any] | None) -> SlaConfig:
        reader = ConfigReader(RateLimitingSla.asset_id, configuration)
        id_expr = reader.string("clientIdExpression", "#[attributes.headers['client_id']]")
        secret_expr = reader.optional_string("clientSecretExpression")
        return cls(
            id_header=header_from_expression(reader, "clientIdExpression", id_expr),
            secret_header=(
                header_from_expression(reader, "clientSecretExpression", secret_expr)
                if secret_expr
                else None
            ),
            expose_headers=reader.boolean("exposeHeaders", False),
            clusterizable=reader.boolean("clusterizable", True),
        )


class RateLimitingSla:
    """The policy object; see the module docstring."""

    asset_id: ClassVar[str] = "rate-limiting-sla-based"
    uses_contracts: bool = True
    is_async: bool = False

    def __init__(self, config: SlaConfig, context: PolicyContext) -> None:
        self.config = config
        self.windows: WindowCounters = windows_for(context.shared_windows, config.clusterizable)
        self.is_async = self.windows.is_async
        self._key = f"sla:{context.api_id}:{context.policy_id}:"
        self._missing = Denial.of(401, "missing client credentials", CLIENT_ID_CHALLENGE)
        self._invalid = Denial.of(401, "invalid client credentials", CLIENT_ID_CHALLENGE)
        self._no_tier = Denial.of(429, "quota exceeded: the contract has no SLA tier limits")
        self._denial = Denial.of(429, "quota exceeded")
        self._buckets: dict[int, tuple[Contract, str]] = {}

    @classmethod
    def from_configuration(
        cls, configuration: Mapping[str, Any] | None, context: PolicyContext | None = None
    ) -> RateLimitingSla:
        return cls(SlaConfig.parse(configuration), context or PolicyContext())

    def _contract(
        self, request: CheckInput, decision: Decision, contracts: Mapping[str, Contract]
    ) -> Contract | Denial:
        config = self.config
        headers = request.headers
        client_id = headers.get(config.id_header)
        if not client_id:
            return self._missing
        if config.secret_header is None:
            contract = contracts.get(client_id)
        else:
            contract = find_contract(contracts, client_id, headers.get(config.secret_header), True)
        if contract is None:
            return self._invalid
        decision.client_id = client_id
        decision.client_name = contract.client_name
        if not contract.limits:
            return self._no_tier
        return contract

    def _bucket(self, contract: Contract) -> str:
        cached = self._buckets.get(id(contract))
        if cached is not None and cached[0] is contract:
            return cached[1]
        if len(self._buckets) > 100_000:  # contracts churned: start over
            self._buckets.clear()
        key = f"{self._key}{contract.client_id}:{contract.sla_tier_id}:{hash(contract.limits)}"
        self._buckets[id(contract)] = (contract, key)
        return key

    def check(
        self,
        request: CheckInput,
        now: float,
        decision: Decision,
        contracts: Mapping[str, Contract],
    ) -> Denial | None:
        found = self._contract(request, decision, contracts)
        if isinstance(found, Denial):
            return found
        result = self.windows.hit(self._bucket(found), found.limits, now)
        return apply_result(result, self.config.expose_headers, decision, self._denial)

    async def check_async(
        self,
        request: CheckInput,
        now: float,
        decision: Decision,
        contracts: Mapping[str, Contract],
    ) -> Denial | None:
        found = self._contract(request, decision, contracts)
        if isinstance(found, Denial):
            return found
        windows = cast(AsyncWindowCounters, self.windows)
        result = await windows.hit_async(self._bucket(found), found.limits, now)
        return apply_result(result, self.config.expose_headers, decision, self._denial)
