"""rate-limiting: fixed windows (``rateLimits``, all must have quota), one bucket per API (or per
value of a header ``keySelector``, a Mule extension), 429 when over quota, optional
``X-Ratelimit-Limit/Remaining/Reset`` (ms) headers, quota shared by replicas when
``clusterizable`` (default true)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from reference_adapter.contracts import Contract, ContractFeedError, SlaLimit, parse_limits
from reference_adapter.model import CheckInput, Decision, Denial, Header
from reference_adapter.policies.base import (
    ConfigReader,
    PolicyConfigError,
    PolicyContext,
    header_from_expression,
)
from reference_adapter.windows import (
    AsyncWindowCounters,
    WindowCounters,
    WindowResult,
    windows_for,
)

QUOTA_EXCEEDED = "quota exceeded"


def ratelimit_headers(result: WindowResult) -> tuple[Header, Header, Header]:
    return exposed_headers(result.limit, result.remaining, result.reset_ms)


def exposed_headers(limit: int, remaining: int, reset_ms: int) -> tuple[Header, Header, Header]:
    """The ``X-Ratelimit-*`` headers of ``exposeHeaders`` (rate limiting, SLA, spike control)."""
    return (
        ("x-ratelimit-limit", str(limit)),
        ("x-ratelimit-remaining", str(remaining)),
        ("x-ratelimit-reset", str(reset_ms)),
    )


def apply_result(
    result: WindowResult, expose: bool, decision: Decision, plain_denial: Denial
) -> Denial | None:
    """Turn a window hit into the policy's answer (shared with the SLA policy)."""
    if result.allowed:
        if expose:
            for name, value in ratelimit_headers(result):
                decision.add_response_header(name, value)
        return None
    if expose:
        return Denial.of(429, QUOTA_EXCEEDED, *ratelimit_headers(result))
    return plain_denial


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    limits: tuple[SlaLimit, ...]
    expose_headers: bool
    clusterizable: bool
    key_header: str | None

    @classmethod
    def parse(cls, configuration: Mapping[str, Any] | None) -> RateLimitConfig:
        reader = ConfigReader(RateLimiting.asset_id, configuration)
        raw = reader.list_of("rateLimits")
        try:
            limits = parse_limits(raw, f"{RateLimiting.asset_id}: rateLimits")
        except ContractFeedError as exc:
            raise PolicyConfigError(str(exc)) from None
        if not limits:
            raise reader.error(
                "rateLimits", raw, "at least one {maximumRequests, timePeriodInMilliseconds}"
            )
        key = reader.optional_string("keySelector")
        return cls(
            limits=limits,
            expose_headers=reader.boolean("exposeHeaders", False),
            clusterizable=reader.boolean("clusterizable", True),
            key_header=header_from_expression(reader, "keySelector", key) if key else None,
        )


class RateLimiting:
    """The policy object; see the module docstring."""

    asset_id: ClassVar[str] = "rate-limiting"
    uses_contracts: bool = False
    is_async: bool = False

    def __init__(self, config: RateLimitConfig, context: PolicyContext) -> None:
        self.config = config
        self.windows: WindowCounters = windows_for(context.shared_windows, config.clusterizable)
        self.is_async = self.windows.is_async
        # the limits are part of the key: an edited policy starts fresh windows (Mule re-creates
        # the algorithm when a policy is applied again)
        shape = ",".join(f"{lim.maximum_requests}/{lim.period_ms}" for lim in config.limits)
        self._key = f"rl:{context.api_id}:{context.policy_id}:{shape}:"
        self._denial = Denial.of(429, QUOTA_EXCEEDED)

    @classmethod
    def from_configuration(
        cls, configuration: Mapping[str, Any] | None, context: PolicyContext | None = None
    ) -> RateLimiting:
        return cls(RateLimitConfig.parse(configuration), context or PolicyContext())

    def _bucket(self, request: CheckInput) -> str:
        if self.config.key_header is None:
            return self._key
        return self._key + request.headers.get(self.config.key_header, "")

    def check(
        self,
        request: CheckInput,
        now: float,
        decision: Decision,
        contracts: Mapping[str, Contract],
    ) -> Denial | None:
        config = self.config
        result = self.windows.hit(self._bucket(request), config.limits, now)
        return apply_result(result, config.expose_headers, decision, self._denial)

    async def check_async(
        self,
        request: CheckInput,
        now: float,
        decision: Decision,
        contracts: Mapping[str, Contract],
    ) -> Denial | None:
        config = self.config
        windows = cast(AsyncWindowCounters, self.windows)
        result = await windows.hit_async(self._bucket(request), config.limits, now)
        return apply_result(result, config.expose_headers, decision, self._denial)
