"""The adapter's Prometheus metrics endpoint (``GET /metrics``, text exposition format) and the
rate-limited log of lost analytics events: what an adapter reports when it drops events
(docs/adapter-contract.md §3.5). Counters are read from the `AnalyticsBatcher` at scrape time."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from common.clock import Clock

if TYPE_CHECKING:
    from reference_adapter.batcher import AnalyticsBatcher, BatcherStats

LOSS_LOG_INTERVAL_S = 10.0
"""At most one warning about dropped events per this many seconds."""


class AnalyticsCollector:
    """Exposes a batcher's counters: ``asm_analytics_events_total`` (recorded),
    ``asm_analytics_events_sent_total`` (accepted by the ingest),
    ``asm_analytics_events_dropped_total{reason=buffer_full|rejected}``,
    ``asm_analytics_events_buffered`` (held, not yet delivered), and batch counters."""

    def __init__(self, batcher: AnalyticsBatcher[Any]) -> None:
        self._batcher = batcher

    def collect(self) -> Iterator[Metric]:
        stats = self._batcher.stats
        yield _counter("asm_analytics_events", "Analytics events recorded", stats.recorded)
        yield _counter(
            "asm_analytics_events_sent", "Events the analytics ingest accepted", stats.sent
        )
        dropped = CounterMetricFamily(
            "asm_analytics_events_dropped",
            "Events lost: buffer_full (dropped while the buffer was full) or rejected (in a"
            " batch the ingest refused for good)",
            labels=["reason"],
        )
        dropped.add_metric(["buffer_full"], stats.dropped)
        dropped.add_metric(["rejected"], stats.rejected)
        yield dropped
        yield GaugeMetricFamily(
            "asm_analytics_events_buffered",
            "Events held for delivery (buffered or in a pending batch)",
            value=self._batcher.held,
        )
        yield _counter(
            "asm_analytics_batches_sent", "Batches the ingest accepted", stats.batches_sent
        )
        yield _counter(
            "asm_analytics_post_failures", "Analytics posts that failed (retried)", stats.failures
        )


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)


def registry_for(batcher: AnalyticsBatcher[Any]) -> CollectorRegistry:
    """A registry of its own per adapter (never the process-global one)."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(AnalyticsCollector(batcher))
    return registry


async def start_metrics_server(
    registry: CollectorRegistry, port: int = 0, host: str = "127.0.0.1"
) -> tuple[web.AppRunner, int]:
    """Serve ``GET /metrics`` on ``host:port`` (0: ephemeral); the runner and the bound port."""

    async def metrics(request: web.Request) -> web.Response:
        response = web.Response(body=generate_latest(registry))
        response.headers["content-type"] = CONTENT_TYPE_LATEST
        return response

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    sockets = getattr(site._server, "sockets", None) or []
    return runner, int(sockets[0].getsockname()[1]) if sockets else port


class LossLog:
    """Warns about dropped analytics events without flooding the log: the first drop at once,
    then at most one line per ``interval_s`` with the count since the previous line."""

    def __init__(
        self, clock: Clock, log: logging.Logger, interval_s: float = LOSS_LOG_INTERVAL_S
    ) -> None:
        self._clock = clock
        self._log = log
        self._interval = interval_s
        self._last: float | None = None
        self._unreported = 0
        self.total = 0

    def dropped(self, held: int, reason: str = "") -> None:
        """One event dropped because the buffer (``held`` events) is full."""
        self.total += 1
        self._unreported += 1
        now = self._clock.now()
        if self._last is None or now - self._last >= self._interval:
            self._report(held, reason)
            self._last = now

    def at_stop(self, stats: BatcherStats, undelivered: int) -> None:
        """The whole run's loss in one line at a clean stop (nothing when nothing was lost)."""
        lost = stats.dropped + stats.rejected + undelivered
        if not lost:
            return
        self._log.error(
            "%s analytics events lost: %s dropped while the buffer was full, %s in batches the"
            " ingest refused, %s still undelivered at stop (of %s recorded, %s delivered)",
            f"{lost:,}",
            f"{stats.dropped:,}",
            f"{stats.rejected:,}",
            f"{undelivered:,}",
            f"{stats.recorded:,}",
            f"{stats.sent:,}",
        )

    def _report(self, held: int, reason: str) -> None:
        count = self._unreported
        self._unreported = 0
        self._log.warning(
            "analytics buffer full (%s events held): dropped %s since the last report"
            " (%s in total)%s",
            f"{held:,}",
            f"{count:,} event" + ("s" if count != 1 else ""),
            f"{self.total:,}",
            f"; the ingest is failing: {reason}" if reason else "",
        )
