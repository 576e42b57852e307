"""spike-control (extended profile): a sliding window of ``maximumRequests`` per
``timePeriodInMilliseconds``. A request without quota is retried every ``delayTimeInMillis`` up
to ``delayAttempts`` times; the engine computes when a slot frees and returns the delay in
`Decision.delay_s` (the face holds its answer that long), at most ``queuingLimit`` requests
wait at once; 429 after the last attempt. Keep delays under Envoy's ext_authz timeout.
``exposeHeaders`` adds the X-Ratelimit-* headers MuleSoft documents for this policy."""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from reference_adapter.contracts import Contract
from reference_adapter.model import CheckInput, Decision, Denial, Header
from reference_adapter.policies.base import ConfigReader, PolicyContext
from reference_adapter.policies.rate_limiting import exposed_headers


@dataclass(frozen=True, slots=True)
class SpikeConfig:
    maximum: int
    period_s: float
    delay_s: float
    attempts: int
    queue_limit: int
    expose_headers: bool

    @classmethod
    def parse(cls, configuration: Mapping[str, Any] | None) -> SpikeConfig:
        reader = ConfigReader(SpikeControl.asset_id, configuration)
        return cls(
            maximum=reader.integer("maximumRequests"),
            period_s=reader.integer("timePeriodInMilliseconds", minimum=1) / 1000.0,
            delay_s=reader.integer("delayTimeInMillis", 1000) / 1000.0,
            attempts=reader.integer("delayAttempts", 1),
            queue_limit=reader.integer("queuingLimit", 5),
            expose_headers=reader.boolean("exposeHeaders", False),
        )


class SpikeControl:
    """The policy object; see the module docstring. Per-replica state (not clusterizable)."""

    asset_id: ClassVar[str] = "spike-control"
    uses_contracts: bool = False
    is_async: bool = False

    def __init__(self, config: SpikeConfig) -> None:
        self.config = config
        self._accepted: list[float] = []  # sorted times of accepted (or reserved) requests
        self._denial = Denial.of(429, "spike control: too many requests")
        self._queue_full = Denial.of(429, "spike control: queue full")

    @classmethod
    def from_configuration(
        cls, configuration: Mapping[str, Any] | None, context: PolicyContext | None = None
    ) -> SpikeControl:
        return cls(SpikeConfig.parse(configuration))

    def _count(self, t: float) -> int:
        """Accepted requests inside the window ending at ``t``: (t - period, t]."""
        accepted = self._accepted
        lo = bisect.bisect_right(accepted, t - self.config.period_s)
        hi = bisect.bisect_right(accepted, t)
        return hi - lo

    def check(
        self,
        request: CheckInput,
        now: float,
        decision: Decision,
        contracts: Mapping[str, Contract],
    ) -> Denial | None:
        config = self.config
        accepted = self._accepted
        cut = bisect.bisect_right(accepted, now - config.period_s)
        if cut:
            del accepted[:cut]
        # reserved slots in the future also count: a slot is free at t when the window ending at
        # any later accepted time stays within the maximum; checking t and later is enough here
        if self._count(now) < config.maximum and self._free_after(now):
            bisect.insort(accepted, now)
            self._accept(now, 0.0, decision)
            return None
        waiting = len(accepted) - bisect.bisect_right(accepted, now)
        if waiting >= config.queue_limit or config.attempts == 0:
            return self._reject(now, self._queue_full if config.attempts else self._denial)
        for attempt in range(1, config.attempts + 1):
            at = now + attempt * config.delay_s
            if self._count(at) < config.maximum and self._free_after(at):
                bisect.insort(accepted, at)
                self._accept(at, attempt * config.delay_s, decision)
                return None
        return self._reject(now, self._denial)

    def _accept(self, at: float, delay_s: float, decision: Decision) -> None:
        if delay_s:
            decision.delay_s = delay_s
        if self.config.expose_headers:
            for name, value in self._headers(at):
                decision.add_response_header(name, value)

    def _reject(self, now: float, denial: Denial) -> Denial:
        if not self.config.expose_headers:
            return denial
        return Denial.of(denial.status, denial.message, *self._headers(now))

    def _headers(self, t: float) -> tuple[Header, Header, Header]:
        """MuleSoft's Spike Control page: X-Ratelimit-Remaining "the amount of quota currently
        available", -Limit "the maximum available requests per window", -Reset "the remaining
        time, in milliseconds, until the oldest request ages enough to fall outside of the
        sliding window. If quota is still available, the header is set to 0"."""
        config = self.config
        remaining = max(0, config.maximum - self._count(t))
        reset_ms = 0
        if remaining == 0:
            lo = bisect.bisect_right(self._accepted, t - config.period_s)
            oldest = self._accepted[lo] if lo < len(self._accepted) else t
            reset_ms = max(0, round((oldest + config.period_s - t) * 1000))
        return exposed_headers(config.maximum, remaining, reset_ms)

    def _free_after(self, t: float) -> bool:
        """Adding a request at ``t`` keeps every window that ends at a later reservation within
        the maximum."""
        accepted = self._accepted
        start = bisect.bisect_right(accepted, t)
        maximum = self.config.maximum
        return all(self._count(later) + 1 <= maximum for later in accepted[start:])
