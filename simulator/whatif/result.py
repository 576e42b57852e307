"""`RunResult`: everything one replication measured: scalar metrics (aggregated over
replications with confidence intervals), time series for plots, per-client figures, the
windows with wrong decisions and the enforcement lag of each control-plane change."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

METRICS: dict[str, str] = {
    "requests": "requests decided (after warmup)",
    "allowed": "requests the clients saw allowed",
    "wrongly_allowed": "allowed although the control plane said deny at that instant",
    "wrongly_denied": "denied although the control plane said allow (incl. errors)",
    "errors": "checks that failed (replica down or Envoy timeout)",
    "refused_not_ready": "wrongly denied with 503 by the gatekeeper (cold start, strict outage)",
    "wrong_window_s": "total length of the time bins with wrong decisions",
    "first_wrong_s": "time of the first wrong decision",
    "last_wrong_s": "time of the last wrong decision",
    "enforcement_lag_s": "mean time from a control-plane change to all replicas enforcing it",
    "enforcement_lag_max_s": "longest time from a change to all replicas enforcing it",
    "quota_overshoot_max": "most requests allowed in one window beyond one exact enforcer's count",
    "quota_overshoot_ratio": "that overshoot as a fraction of the limit",
    "analytics_produced": "analytics events recorded by the adapters",
    "analytics_delivered": "events the ingest received (first copies)",
    "analytics_dropped": "events lost: buffer full, restart, or rejected",
    "analytics_duplicated": "events the ingest received more than once (retried batches)",
    "analytics_in_buffer_end": "events still held when the run ended",
    "analytics_delay_p50_s": "median delay from decision to ingest",
    "analytics_delay_p99_s": "99th percentile delay from decision to ingest",
    "buffer_high_water": "most events one replica held at once",
    "check_latency_p50_ms": "median check latency (queue + service)",
    "check_latency_p99_ms": "99th percentile check latency",
    "utilisation": "adapter busy fraction (service time / capacity)",
    "sync_failures": "failed policy/contract syncs",
}
"""Scalar metric names and what they mean (the order of tables and summaries)."""


@dataclass
class RunResult:
    """One replication of one sweep point."""

    metrics: dict[str, float | None]
    series: dict[str, list[float]] = field(default_factory=dict)
    clients: list[dict[str, Any]] = field(default_factory=list)
    quotas: list[dict[str, Any]] = field(default_factory=list)
    windows: list[dict[str, float]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    wall_s: float = 0.0
    decide_calls: int = 0
    warnings: list[str] = field(default_factory=list)


def windows_from_bins(
    allowed: list[int], denied: list[int], bin_s: float, limit: int = 50
) -> list[dict[str, float]]:
    """Contiguous runs of bins with wrong decisions, as ``{start, end, wrongly_allowed,
    wrongly_denied}`` (at most ``limit``)."""
    out: list[dict[str, float]] = []
    current: dict[str, float] | None = None
    for i, (a, d) in enumerate(zip(allowed, denied, strict=True)):
        if a or d:
            if current is None:
                current = {
                    "start": i * bin_s,
                    "end": 0.0,
                    "wrongly_allowed": 0,
                    "wrongly_denied": 0,
                }
            current["end"] = (i + 1) * bin_s
            current["wrongly_allowed"] += a
            current["wrongly_denied"] += d
        elif current is not None:
            out.append(current)
            current = None
    if current is not None:
        out.append(current)
    return out[:limit]
