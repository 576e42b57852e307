"""The control API's handlers, without mitmproxy."""

from __future__ import annotations

import pytest

from proxy.mitm.control import ControlError, ProxyState, handle


def test_routes_faults_recording_and_events() -> None:
    state = ProxyState()
    status, _ = handle(
        state,
        "PUT",
        "/routes",
        {"routes": {"A.example": "http://127.0.0.1:1/"}, "roles": {"a.example": "platform"}},
    )
    assert status == 200 and state.routes == {"a.example": "http://127.0.0.1:1"}
    assert handle(state, "PUT", "/faults", {"faults": [{"kind": "goaway"}]})[1] == {
        "faults": ["goaway"]
    }
    handle(state, "POST", "/faults", {"faults": [{"kind": "stall", "name": "s"}]})
    assert [f.label for f in state.book.faults] == ["goaway", "s"]
    handle(state, "DELETE", "/faults", None)
    assert state.book.faults == []
    assert handle(state, "POST", "/recording", {"on": True}) == (200, {"recording": True})
    assert handle(state, "POST", "/recording/take", {})[1]["interactions"] == []
    assert handle(state, "GET", "/events?since=0", None) == (200, {"events": [], "next": 0})
    assert handle(state, "GET", "/health", None)[1]["ok"] is True


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("GET", "/nowhere", None, 404, "no control endpoint"),
        ("PUT", "/faults", {"faults": "x"}, 400, "faults"),
        ("PUT", "/faults", {"faults": [{"kind": "meteor"}]}, 400, "kind"),
        ("PATCH", "/faults", {}, 405, "GET, PUT, POST or DELETE"),
        ("POST", "/recording", {"on": "yes"}, 400, "on"),
        ("GET", "/events?since=-1", None, 400, "since"),
        ("PUT", "/routes", {"routes": {"a": 1}}, 400, "routes"),
    ],
)
def test_bad_requests_name_the_problem(
    method: str, path: str, body: object, status: int, message: str
) -> None:
    with pytest.raises(ControlError, match=message) as caught:
        handle(ProxyState(), method, path, body)
    assert caught.value.status == status
