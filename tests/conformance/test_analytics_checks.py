"""Analytics checks must not skip what they cannot read (both found by mutation testing):
``delivered_within`` fails an event whose ``replied_ts`` is missing or not a timestamp (an
adapter with a frozen timestamp cache passed it), and ``no_duplicate_events`` fails an event
without an ``event_id`` (an adapter sending no ids passed it)."""

from __future__ import annotations

import time
from typing import Any

from conformance.waits import analytics_mismatches
from fake_anypoint.model import IngestBatch
from scenarios.expectations import AnalyticsExpect


def _batch(*replied: object) -> IngestBatch:
    events = [{"event_id": str(i), "replied_ts": r} for i, r in enumerate(replied)]
    return IngestBatch("b1", 0.0, time.time(), 100, events)


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000Z"


def test_events_with_timestamps_are_bounded() -> None:
    spec = AnalyticsExpect(delivered_within=5.0)
    assert analytics_mismatches(spec, [], [], [_batch(_now_iso(), _now_iso())]) == []


def test_an_event_without_a_usable_replied_ts_fails_the_bound() -> None:
    spec = AnalyticsExpect(delivered_within=5.0)
    for bad in (".123Z", None, "yesterday"):
        found = analytics_mismatches(spec, [], [], [_batch(_now_iso(), bad)])
        assert [m.field for m in found] == ["analytics.replied_ts"], found
        assert "1 events without one" in str(found[0].actual)


def test_a_late_event_still_fails_the_bound() -> None:
    spec = AnalyticsExpect(delivered_within=5.0)
    found = analytics_mismatches(spec, [], [], [_batch("2020-01-01T00:00:00.000Z")])
    assert [m.field for m in found] == ["analytics.delivered_within"]


def test_an_event_without_an_event_id_fails_the_duplicate_check() -> None:
    spec = AnalyticsExpect(no_duplicate_events=True)
    events: list[dict[str, Any]] = [{"event_id": "a"}, {"event_id": None}, {"client_id": "x"}]
    found = analytics_mismatches(spec, [], events, [])
    assert [m.field for m in found] == ["analytics.event_id"]
    assert found[0].actual == "2 events without one"
    assert [n["event"] for n in found[0].nearest] == events[1:]
    assert analytics_mismatches(AnalyticsExpect(no_duplicate_events=False), [], events, []) == []
