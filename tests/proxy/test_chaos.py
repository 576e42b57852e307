"""Which network fault fires: by host (name or role), method, path glob, time window and count;
the wire form is checked field by field."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from common.clock import ManualClock
from proxy.mitm.chaos import FaultBook, NetFault
from proxy.netfaults import NetworkFault

ROLES = {"anypoint.mulesoft.com": "platform", "ingest.example": "ingest"}


def _book(clock: ManualClock, *faults: NetworkFault) -> FaultBook:
    book = FaultBook(now=clock.now, roles=ROLES)
    book.replace([NetFault.from_wire(f.to_wire(clock.now())) for f in faults])
    return book


def test_host_role_path_method_and_window() -> None:
    clock = ManualClock(100.0)
    book = _book(
        clock,
        NetworkFault(kind="stall", host="ingest", path="/v2/*", method="POST", after=1, lasting=2),
    )
    assert book.pick(("stall",), "ingest.example", "POST", "/v2/events") is None  # not yet
    clock.advance(1.5)
    assert book.pick(("stall",), "anypoint.mulesoft.com", "POST", "/v2/events") is None
    assert book.pick(("stall",), "ingest.example", "GET", "/v2/events") is None
    assert book.pick(("stall",), "ingest.example", "POST", "/other") is None
    fault = book.pick(("stall",), "ingest.example", "POST", "/v2/events?x=1")
    assert fault is not None and fault.kind == "stall"
    clock.advance(2)
    assert book.pick(("stall",), "ingest.example", "POST", "/v2/events") is None  # over


def test_first_n_latency_jitter_and_the_log() -> None:
    clock = ManualClock()
    book = _book(clock, NetworkFault(kind="latency", latency=0.2, jitter=0.1, first_n=2))
    picks = [book.pick(("latency",), "anypoint.mulesoft.com", "GET", "/") for _ in range(3)]
    assert [p is not None for p in picks] == [True, True, False]
    assert picks[0] is not None
    assert all(0.2 <= book.delay(picks[0]) <= 0.3 for _ in range(50))
    book.note(picks[0], "anypoint.mulesoft.com", "GET", "/", "delayed")
    events, following = book.events_since(0)
    assert following == 1 and events[0]["detail"] == "delayed"
    assert book.events_since(1) == ([], 1)


def test_connections_older_than_a_connection_fault() -> None:
    clock = ManualClock(50.0)
    book = _book(clock, NetworkFault(kind="goaway", host="platform"))
    assert book.started_since(("goaway",), "anypoint.mulesoft.com", opened=49.0) is not None
    assert book.started_since(("goaway",), "anypoint.mulesoft.com", opened=50.5) is None
    assert book.started_since(("goaway",), "ingest.example", opened=49.0) is None


def test_bad_faults_are_refused_with_the_field() -> None:
    with pytest.raises(ValidationError, match="bytes_per_second"):
        NetworkFault(kind="bandwidth")
    with pytest.raises(ValidationError, match="latency"):
        NetworkFault(kind="latency")
    with pytest.raises(ValidationError, match="whole connections"):
        NetworkFault(kind="goaway", path="*/contracts*")
    with pytest.raises(ValidationError, match="hold"):
        NetworkFault(kind="stall", hold="11m")
    with pytest.raises(ValueError, match=r"faults\[0\].kind"):
        NetFault.from_wire({"kind": "meteor"}, "faults[0]")
    with pytest.raises(ValueError, match="unknown keys"):
        NetFault.from_wire({"kind": "stall", "extra": 1})
    with pytest.raises(ValueError, match="rate_bps"):
        NetFault.from_wire({"kind": "bandwidth"})
