"""The quota each client counts against: a rate-limiting policy on its API (one quota for the
whole API) or its contract tier's limits (one quota per client, ``rate-limiting-sla-based``);
the shortest-period limit is the window in which overshoot is measured."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simulator.whatif.spec import ClientSpec, WhatIfSpec

RATE_LIMIT_ASSETS = ("rate-limiting", "spike-control")


@dataclass(frozen=True, slots=True)
class Quota:
    """``maximum`` requests per ``period_s``; ``key`` names who shares it."""

    key: str
    maximum: int
    period_s: float


def _policy_limits(configuration: dict[str, Any]) -> list[tuple[int, float]]:
    out = []
    for entry in configuration.get("rateLimits") or []:
        try:
            out.append(
                (int(entry["maximumRequests"]), int(entry["timePeriodInMilliseconds"]) / 1000.0)
            )
        except (KeyError, TypeError, ValueError):
            continue
    return out


def client_limit(spec: WhatIfSpec, client: ClientSpec) -> Quota | None:
    """The quota ``client`` counts against (the API's policy limit first), or None."""
    cp = spec.control_plane
    api = next((a for a in cp.apis if a.key == client.api), None)
    if api is None:
        return None
    api_limits: list[tuple[int, float]] = []
    tier_limits: list[tuple[int, float]] = []
    for policy in api.policies:
        if policy.asset_id in RATE_LIMIT_ASSETS:
            api_limits.extend(_policy_limits(policy.configuration))
        elif policy.asset_id == "rate-limiting-sla-based" and client.application:
            contract = next(
                (
                    c
                    for c in cp.contracts
                    if c.application == client.application and c.api == client.api
                ),
                None,
            )
            tier = next((t for t in api.tiers if contract and t.key == contract.tier), None)
            if tier is not None:
                tier_limits.extend(
                    (lim.maximum_requests, lim.time_period_ms / 1000.0) for lim in tier.limits
                )
    if api_limits:
        maximum, period = min(api_limits, key=lambda x: (x[1], x[0]))
        return Quota(f"api {client.api}", maximum, period)
    if tier_limits:
        maximum, period = min(tier_limits, key=lambda x: (x[1], x[0]))
        return Quota(f"client {client.label}", maximum, period)
    return None
