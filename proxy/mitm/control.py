"""The proxy's control API, as plain functions of (method, path, JSON body) so the kit can test
them without mitmproxy: routes, network faults, recording, the fault log and counters."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .chaos import FaultBook, NetFault
from .recorder import Recorder

MAX_FAULTS = 1_000


class ControlError(Exception):
    """A bad control request: answered with ``status`` and the message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class ProxyState:
    """Everything the control API reads and changes."""

    routes: dict[str, str] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)
    book: FaultBook = field(default_factory=FaultBook)
    recorder: Recorder = field(default_factory=Recorder)
    stats: Counter[str] = field(default_factory=Counter)
    allow_real: bool = False

    def set_routes(self, routes: dict[str, str], roles: dict[str, str]) -> None:
        self.routes = {k.lower(): v.rstrip("/") for k, v in routes.items()}
        self.roles = {k.lower(): v for k, v in roles.items()}
        self.book.roles = self.roles
        self.recorder.hosts = dict(self.roles)


def _faults(body: Any) -> list[NetFault]:
    items = body.get("faults") if isinstance(body, dict) else None
    if not isinstance(items, list) or len(items) > MAX_FAULTS:
        raise ControlError(400, f"expected {{'faults': [...]}} with at most {MAX_FAULTS} faults")
    try:
        return [NetFault.from_wire(item, f"faults[{i}]") for i, item in enumerate(items)]
    except (TypeError, ValueError) as exc:
        raise ControlError(400, str(exc)) from None


def _mapping(body: Any, key: str) -> dict[str, str]:
    value = body.get(key, {}) if isinstance(body, dict) else None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ControlError(400, f"{key}: expected a mapping of host name to text")
    return value


def handle(state: ProxyState, method: str, target: str, body: Any) -> tuple[int, Any]:
    """Answer one control request; raises ``ControlError`` for bad ones."""
    parts = urlsplit(target)
    path, query = parts.path.rstrip("/") or "/", parse_qs(parts.query)
    if (method, path) == ("GET", "/health"):
        return 200, {"ok": True, "pid": os.getpid()}
    if (method, path) == ("PUT", "/routes"):
        state.set_routes(_mapping(body, "routes"), _mapping(body, "roles"))
        return 200, {"routes": state.routes, "roles": state.roles}
    if path == "/faults":
        if method == "PUT":
            state.book.replace(_faults(body))
        elif method == "POST":
            state.book.add(_faults(body))
        elif method == "DELETE":
            state.book.clear()
        elif method != "GET":
            raise ControlError(405, f"{method} /faults: use GET, PUT, POST or DELETE")
        return 200, {"faults": [f.label for f in state.book.faults]}
    if (method, path) == ("POST", "/recording"):
        on = body.get("on") if isinstance(body, dict) else None
        if not isinstance(on, bool):
            raise ControlError(400, "expected {'on': true} or {'on': false}")
        if on:
            state.recorder.start(state.roles)
        else:
            state.recorder.on = False
        return 200, {"recording": state.recorder.on}
    if (method, path) == ("POST", "/recording/take"):
        salt = body.get("salt") if isinstance(body, dict) else None
        return 200, state.recorder.take(salt if isinstance(salt, str) and salt else None)
    if (method, path) == ("GET", "/events"):
        since = query.get("since", ["0"])[0]
        if not since.isdigit():
            raise ControlError(400, f"since: {since!r} must be a non-negative integer")
        events, following = state.book.events_since(int(since))
        return 200, {"events": events, "next": following}
    if (method, path) == ("GET", "/stats"):
        return 200, dict(state.stats)
    raise ControlError(404, f"no control endpoint {method} {path}")
