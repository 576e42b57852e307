"""`RunResult`: everything one replication measured: scalar metrics (aggregated over
replications with confidence intervals), time series for plots, per-client figures, the
windows with wrong decisions and the enforcement lag of each control-plane change; and
`assemble`, which builds one from what either engine (virtual or live) counted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from common.histogram import LogHistogram
from simulator.whatif.counters import QuotaBook, Reason, TrafficCounters

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

HEADLINE_METRICS = (
    "requests",
    "wrongly_allowed",
    "wrongly_denied",
    "errors",
    "wrong_window_s",
    "enforcement_lag_s",
    "quota_overshoot_max",
    "quota_overshoot_ratio",
    "analytics_produced",
    "analytics_delivered",
    "analytics_dropped",
    "analytics_duplicated",
    "analytics_delay_p99_s",
    "buffer_high_water",
    "check_latency_p50_ms",
    "check_latency_p99_ms",
    "utilisation",
)
"""The summary table's rows, and the metrics ``--precision`` brings under its target."""


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


@dataclass(frozen=True, slots=True)
class ChangeLag:
    """A control-plane change at ``at`` carried by sync ``kind``, and how long until every
    replica enforced it (None: some never did within the run)."""

    label: str
    at: float
    kind: str
    lag: float | None


@dataclass(slots=True)
class AnalyticsFigures:
    """Analytics as one run saw them. ``high_water``: most events one replica held (None when
    the adapter is a black box); ``held_bins``: the most held per bin (empty when unknown)."""

    produced: int
    delivered: int
    dropped: int
    duplicated: int
    in_buffer_end: int
    delay: LogHistogram
    delivered_bins: list[int]
    held_bins: list[int] = field(default_factory=list)
    high_water: int | None = None


def _quota_rows(
    counters: TrafficCounters, book: QuotaBook
) -> tuple[list[dict[str, Any]], int, float | None]:
    overshoot_max = 0
    ratio_max: float | None = None
    rows = []
    for key, lim in book.limits.items():
        net = counters.quota[key]
        over = max([max(0, v) for v in net.values()], default=0)
        ratio = over / lim.maximum if lim.maximum else None
        overshoot_max = max(overshoot_max, over)
        if ratio is not None:
            ratio_max = max(ratio_max or 0.0, ratio)
        rows.append(
            {
                "quota": book.names[key],
                "limit": f"{lim.maximum} per {lim.period_s:g}s",
                "overshoot_max": over,
                "windows_over": sum(1 for v in net.values() if v > 0),
            }
        )
    return rows, overshoot_max, ratio_max


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0


def assemble(
    bin_s: float,
    counters: TrafficCounters,
    book: QuotaBook,
    labels: list[str],
    changes: list[ChangeLag],
    analytics: AnalyticsFigures,
    *,
    latency: LogHistogram,
    sync_failures: int,
    utilisation: float | None,
) -> RunResult:
    """The `RunResult` of one run from what it counted: the one way both engines (virtual
    and live) turn observations into metrics, series and tables. Long because it names every metric
    once."""
    wa, wd = list(counters.wrongly_allowed_bins), list(counters.wrongly_denied_bins)
    lags = [c.lag for c in changes]
    seen = [x for x in lags if x is not None]
    quotas, overshoot_max, ratio_max = _quota_rows(counters, book)
    metrics: dict[str, float | None] = {
        "requests": counters.requests,
        "allowed": counters.allowed,
        "wrongly_allowed": sum(wa),
        "wrongly_denied": sum(wd),
        "errors": counters.errors,
        "refused_not_ready": counters.wrongly_denied_by[Reason.GATE],
        "wrong_window_s": sum(1 for x, y in zip(wa, wd, strict=True) if x or y) * bin_s,
        "first_wrong_s": counters.first_wrong,
        "last_wrong_s": counters.last_wrong,
        "enforcement_lag_s": sum(seen) / len(seen) if seen else None,
        "enforcement_lag_max_s": max(seen) if seen and len(seen) == len(lags) else None,
        "quota_overshoot_max": overshoot_max,
        "quota_overshoot_ratio": ratio_max,
        "analytics_produced": analytics.produced,
        "analytics_delivered": analytics.delivered,
        "analytics_dropped": analytics.dropped,
        "analytics_duplicated": analytics.duplicated,
        "analytics_in_buffer_end": analytics.in_buffer_end,
        "analytics_delay_p50_s": analytics.delay.percentile(50),
        "analytics_delay_p99_s": analytics.delay.percentile(99),
        "buffer_high_water": analytics.high_water,
        "check_latency_p50_ms": _ms(latency.percentile(50)),
        "check_latency_p99_ms": _ms(latency.percentile(99)),
        "utilisation": utilisation,
        "sync_failures": sync_failures,
    }
    series = {
        "wrongly_allowed": [float(x) for x in wa],
        "wrongly_denied": [float(x) for x in wd],
        "errors": [float(x) for x in counters.error_bins],
        "analytics_delivered": [float(x) for x in analytics.delivered_bins],
    }
    if analytics.held_bins:
        series["buffer_held"] = [float(x) for x in analytics.held_bins]
    return RunResult(
        metrics=metrics,
        series=series,
        clients=[
            {"client": label, "wrongly_allowed": a, "wrongly_denied": d}
            for label, (a, d) in zip(labels, counters.wrong_by_client, strict=True)
        ],
        quotas=quotas,
        windows=windows_from_bins(wa, wd, bin_s),
        changes=[
            {"change": c.label, "at_s": c.at, "kind": c.kind, "lag_s": c.lag} for c in changes
        ],
        decide_calls=counters.decide_calls,
    )
