"""Waiting for analytics: poll what the fake ingest received until every expectation holds or
the deadline passes, then report the differences."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from typing import Any

from conformance.adapter_metrics import MetricsError, dropped_events
from fake_anypoint import ControlPlaneState, IngestBatch
from reports import Mismatch
from scenarios.analytics_fields import CONVENTIONS, field_differences, nearest, waive
from scenarios.expectations import AnalyticsExpect, BatchExpect


def _epoch(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def delivery_delays(batches: list[IngestBatch]) -> list[float]:
    """Seconds from each event's ``replied_ts`` to its batch's arrival at the ingest."""
    delays = []
    for batch in batches:
        for event in batch.events:
            replied = _epoch(event.get("replied_ts"))
            if replied is not None:
                delays.append(batch.received_wall - replied)
    return delays


def undated(batches: list[IngestBatch]) -> list[object]:
    """The ``replied_ts`` values that are not ISO-8601 timestamps (a delay cannot be bounded
    for them, so they fail ``delivered_within`` instead of being skipped)."""
    return [
        event.get("replied_ts")
        for batch in batches
        for event in batch.events
        if _epoch(event.get("replied_ts")) is None
    ]


def batch_mismatches(
    expect: BatchExpect, batches: list[IngestBatch], waived: frozenset[str] = frozenset()
) -> list[Mismatch]:
    out = []
    sizes = [len(b.events) for b in batches]
    if expect.min is not None and len(batches) < expect.min:
        out.append(Mismatch("analytics.batches", f"at least {expect.min} batches", sizes))
    if expect.max is not None and len(batches) > expect.max:
        out.append(Mismatch("analytics.batches", f"at most {expect.max} batches", sizes))
    if expect.max_events is not None and any(n > expect.max_events for n in sizes):
        out.append(Mismatch("analytics.batches.max_events", expect.max_events, sizes))
    retried = sum(b.duplicates for b in batches)
    skipped = {check for name in waived for check in CONVENTIONS[name].checks}
    if (
        expect.min_retried is not None
        and retried < expect.min_retried
        and "min_retried" not in skipped
    ):
        out.append(Mismatch("analytics.batches.min_retried", expect.min_retried, retried))
    if expect.min_events is not None and any(n < expect.min_events for n in sizes):
        out.append(Mismatch("analytics.batches.min_events", expect.min_events, sizes))
    return out


def analytics_mismatches(
    spec: AnalyticsExpect,
    where: list[dict[str, Any]],
    events: list[dict[str, Any]],
    batches: list[IngestBatch] | None = None,
    waived: frozenset[str] = frozenset(),
    dropped: int | str | None = None,
) -> list[Mismatch]:
    """Every way the received events and batches differ from ``spec``; event expectations
    compare fields by their rules (``conformance.analytics_fields``) minus waived conventions,
    and a wrong count carries the nearest received events as evidence."""
    out: list[Mismatch] = []
    batches = batches or []
    if spec.batches is not None:
        out.extend(batch_mismatches(spec.batches, batches, waived))
    if spec.delivered_within is not None:
        out.extend(delivery_mismatches(spec.delivered_within, batches))
    for i, (expect, fields) in enumerate(zip(spec.events, where, strict=True)):
        fields = waive(fields, set(waived))
        n = sum(1 for e in events if not field_differences(fields, e))
        label = f"analytics.events[{i}]"
        wanted = (
            f"{expect.count} events"
            if expect.count is not None and n != expect.count
            else f"at least {expect.min} events"
            if expect.min is not None and n < expect.min
            else f"at most {expect.max} events"
            if expect.max is not None and n > expect.max
            else None
        )
        if wanted is not None:
            evidence = (
                tuple(nearest(fields, events)) if n < (expect.count or expect.min or 0) else ()
            )
            out.append(Mismatch(label, f"{wanted} where {fields}", f"{n} events", evidence))
    out.extend(loss_mismatches(spec, events, dropped))
    if spec.no_duplicate_events:
        out.extend(duplicate_mismatches(events))
    return out


def delivery_mismatches(within: float, batches: list[IngestBatch]) -> list[Mismatch]:
    """Events delivered later than ``within`` after their ``replied_ts``, or without a
    readable ``replied_ts`` to measure from."""
    out: list[Mismatch] = []
    bad = undated(batches)
    if bad:
        out.append(
            Mismatch(
                "analytics.replied_ts",
                "an ISO-8601 timestamp on every event (delivered_within measures from it)",
                f"{len(bad)} events without one, e.g. {bad[0]!r}",
            )
        )
    slowest = max(delivery_delays(batches), default=0.0)
    if slowest > within:
        out.append(Mismatch("analytics.delivered_within", f"{within:g}s", f"{slowest:.3f}s"))
    return out


def duplicate_mismatches(events: list[dict[str, Any]]) -> list[Mismatch]:
    """Events delivered twice (by ``event_id``), and events without an id (without one a
    duplicate cannot be told from a new event)."""
    out: list[Mismatch] = []
    ids = Counter(e.get("event_id") for e in events if e.get("event_id") is not None)
    twice = sorted(str(i) for i, c in ids.items() if c > 1)
    if twice:
        out.append(Mismatch("analytics.event_id", "each event once", f"sent twice: {twice[:5]}"))
    anonymous = [e for e in events if not (isinstance(e.get("event_id"), str) and e["event_id"])]
    if anonymous:
        wanted = "a non-empty string"
        evidence = tuple(
            {"event": e, "differences": [
                {"field": "event_id", "expected": wanted, "received": e.get("event_id")}
            ]}
            for e in anonymous[:3]
        )  # fmt: skip
        out.append(
            Mismatch(
                "analytics.event_id",
                "an event_id on every event (the ingest deduplicates by it)",
                f"{len(anonymous)} events without one",
                evidence,
            )
        )
    return out


def loss_mismatches(
    spec: AnalyticsExpect, events: list[dict[str, Any]], dropped: int | str | None
) -> list[Mismatch]:
    """The ``dropped`` and ``accounted_for`` expectations, against the count the adapter
    reports (an ``str`` is why it could not be read)."""
    if not spec.reads_metrics:
        return []
    if not isinstance(dropped, int):
        why = dropped or "the profile names no adapter.metrics_url"
        return [Mismatch("analytics.dropped", "the adapter's dropped-event count", why)]
    out = []
    want = spec.dropped
    if want is not None and not (
        (want.count is None or dropped == want.count)
        and (want.min is None or dropped >= want.min)
        and (want.max is None or dropped <= want.max)
    ):
        wanted = f"{want.count}" if want.count is not None else f"{want.min}..{want.max or ''}"
        out.append(Mismatch("analytics.dropped", f"{wanted} events reported dropped", dropped))
    if spec.accounted_for is not None:
        received = len({str(e.get("event_id")) for e in events})
        if received + dropped != spec.accounted_for:
            out.append(
                Mismatch(
                    "analytics.accounted_for",
                    f"{spec.accounted_for} events received or reported dropped",
                    f"{received} received + {dropped} reported dropped",
                )
            )
    return out


async def _dropped(urls: list[str] | None) -> int | str | None:
    if not urls:
        return None
    try:
        return await dropped_events(urls)
    except MetricsError as exc:
        return str(exc)


async def check_analytics(
    state: ControlPlaneState,
    spec: AnalyticsExpect,
    where: list[dict[str, Any]],
    within: float,
    waived: frozenset[str] = frozenset(),
    metrics_urls: list[str] | None = None,
) -> tuple[list[Mismatch], dict[str, Any]]:
    """Poll until the expectations hold or ``within`` seconds pass (the adapters' metrics
    endpoints are read too when the expectations need them)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    dropped: int | str | None = None
    while True:
        events = state.analytics_events()
        batches = state.analytics_batches()
        if spec.reads_metrics:
            dropped = await _dropped(metrics_urls)
        mismatches = analytics_mismatches(spec, where, events, batches, waived, dropped)
        if not mismatches or loop.time() >= deadline:
            break
        await asyncio.sleep(0.05)
    delays = delivery_delays(batches)
    summary = {
        "events": len(events),
        "batches": len(batches),
        "retried_batches": sum(b.duplicates for b in batches),
        "batch_sizes": [len(b.events) for b in batches],
        "max_delivery_delay_s": round(max(delays, default=0.0), 4),
    }
    if spec.reads_metrics:
        summary["reported_dropped"] = dropped
    return mismatches, summary
