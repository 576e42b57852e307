"""Waiting for analytics: poll what the fake ingest received until every expectation holds or
the deadline passes, then report the differences."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from conformance.checks import Mismatch, event_matches
from fake_anypoint import ControlPlaneState
from scenarios.expectations import AnalyticsExpect


def analytics_mismatches(
    spec: AnalyticsExpect, where: list[dict[str, Any]], events: list[dict[str, Any]]
) -> list[Mismatch]:
    out: list[Mismatch] = []
    for i, (expect, fields) in enumerate(zip(spec.events, where, strict=True)):
        n = sum(1 for e in events if event_matches(fields, e))
        label = f"analytics.events[{i}] where {fields}"
        if expect.count is not None and n != expect.count:
            out.append(Mismatch(label, f"{expect.count} events", f"{n} events"))
        if expect.min is not None and n < expect.min:
            out.append(Mismatch(label, f"at least {expect.min} events", f"{n} events"))
        if expect.max is not None and n > expect.max:
            out.append(Mismatch(label, f"at most {expect.max} events", f"{n} events"))
    if spec.no_duplicate_events:
        ids = Counter(e.get("event_id") for e in events if e.get("event_id") is not None)
        twice = sorted(str(i) for i, c in ids.items() if c > 1)
        if twice:
            out.append(
                Mismatch("analytics.event_id", "each event once", f"sent twice: {twice[:5]}")
            )
    return out


async def check_analytics(
    state: ControlPlaneState, spec: AnalyticsExpect, where: list[dict[str, Any]], within: float
) -> tuple[list[Mismatch], dict[str, Any]]:
    """Poll until the expectations hold or ``within`` seconds pass."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        events = state.analytics_events()
        mismatches = analytics_mismatches(spec, where, events)
        if not mismatches or loop.time() >= deadline:
            break
        await asyncio.sleep(0.05)
    batches = state.analytics_batches()
    summary = {
        "events": len(events),
        "batches": len(batches),
        "retried_batches": sum(b.duplicates for b in batches),
        "batch_sizes": [len(b.events) for b in batches],
    }
    return mismatches, summary
