"""Was the load generator, not the adapter, the bottleneck of a live run? From the rate the
arrivals asked for, the rate the generator really sent at, how late it sent and how long the
adapter (through the data plane) took to answer; with the sentence that says so."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from common.histogram import LogHistogram
from simulator.whatif.judge import Observed

SHORTFALL = 0.95
"""The generator fell behind when it sent at less than this share of the intended rate."""


@dataclass(frozen=True)
class Capacity:
    """``intended_rate``: arrivals per second of the traffic window; ``achieved_rate``: the
    same arrivals per second of the time the generator really took to send them; the 99th
    percentiles of how late it sent and of the adapter's answer time (send to answer)."""

    intended_rate: float
    achieved_rate: float
    send_late_p99_ms: float
    adapter_p99_ms: float | None

    @property
    def behind(self) -> bool:
        return self.achieved_rate < SHORTFALL * self.intended_rate

    @property
    def generator_bound(self) -> bool:
        """Behind its schedule while the adapter's latency stayed flat (its p99 no larger
        than the generator's own lag)."""
        adapter = self.adapter_p99_ms
        return self.behind and (adapter is None or adapter <= self.send_late_p99_ms)

    def sentence(self) -> str | None:
        """What to tell the user when the generator fell behind (None when it kept up)."""
        if not self.behind:
            return None
        sent = (
            f"it sent {self.achieved_rate:,.0f} req/s of the intended "
            f"{self.intended_rate:,.0f} (99% of sends within {self.send_late_p99_ms:,.1f} ms "
            "of their time)"
        )
        adapter = "" if self.adapter_p99_ms is None else f" (p99 {self.adapter_p99_ms:,.1f} ms)"
        if self.generator_bound:
            return (
                f"The load generator, not the adapter, was the bottleneck: {sent} while the "
                f"adapter's latency stayed flat{adapter}. The figures understate what the "
                "adapter can take: give the generator more CPU or spread it over Locust "
                "workers (--workers N)."
            )
        return (
            f"The load generator fell behind: {sent}, and the adapter's latency grew too"
            f"{adapter}: both were saturated (an in-process adapter shares the generator's CPU)."
        )


def capacity_of(
    observed: Sequence[Observed], until: float, adapter: LogHistogram | None
) -> Capacity | None:
    """The figures of a run whose traffic window was ``until`` seconds (None: no requests);
    ``adapter`` holds the answer times (send to answer), when the load measured them."""
    if not observed or until <= 0:
        return None
    lateness = LogHistogram.of(
        [max(0.0, o.sent - o.t) if o.sent is not None else 0.0 for o in observed]
    )
    last = max((o.sent if o.sent is not None else o.t) for o in observed)
    late = lateness.percentile(99) or 0.0
    answer = adapter.percentile(99) if adapter is not None else None
    return Capacity(
        intended_rate=len(observed) / until,
        achieved_rate=len(observed) / max(until, last),
        send_late_p99_ms=late * 1000.0,
        adapter_p99_ms=None if answer is None else answer * 1000.0,
    )


def capacity_from_metrics(metrics: Mapping[str, object]) -> Capacity | None:
    """The figures a live run recorded in its metrics (None when it recorded none)."""
    intended, achieved = metrics.get("intended_rate"), metrics.get("achieved_rate")
    late, adapter = metrics.get("send_late_p99_ms"), metrics.get("adapter_p99_ms")
    if not isinstance(intended, float | int) or not isinstance(achieved, float | int):
        return None
    return Capacity(
        intended_rate=float(intended),
        achieved_rate=float(achieved),
        send_late_p99_ms=float(late) if isinstance(late, float | int) else 0.0,
        adapter_p99_ms=float(adapter) if isinstance(adapter, float | int) else None,
    )
