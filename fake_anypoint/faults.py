"""Injected faults: which endpoint group they hit, when they fire, and what they do.

A ``Fault`` is matched per request by group and time window (state clock), then thinned by
``first_n`` and ``probability`` (seeded). The server applies the first fault that fires.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any

# Endpoint groups. The first six are the adapter-facing ones; "*" matches every group but admin.
FAULT_GROUPS = (
    "auth",
    "apis",
    "policies",
    "contracts",
    "keepalive",
    "analytics",
    "accounts",
    "apimanager",
    "exchange",
    "analytics_query",
    "cli",
    "*",
)

_FAULT_KEYS = (
    "group",
    "name",
    "status",
    "latency_s",
    "jitter_s",
    "first_n",
    "start",
    "end",
    "drop",
    "malformed",
    "probability",
    "lose_response",
)


@dataclass
class Fault:
    """One fault rule.

    - ``status``: answer this HTTP status with ``{"message": "injected fault <name>"}``.
    - ``latency_s`` (+ a seeded uniform ``[0, jitter_s]``): delay before answering (alone, the
      request is then served normally).
    - ``first_n``: fire only for the first N matching requests.
    - ``start``/``end``: fire only while ``start <= clock.now() < end`` (either may be None).
    - ``drop``: close the connection without an answer. ``malformed``: answer 200 with a
      truncated JSON body.
    - ``probability``: fire with this (seeded) probability.
    - ``lose_response``: serve the request normally (its effects stay), then answer ``status``
      or drop the connection instead of the real answer: a lost response, as when a timeout or
      a proxy cuts the reply (e.g. an analytics batch stored but reported as failed).
    """

    group: str
    name: str | None = ""
    status: int | None = None
    latency_s: float = 0.0
    jitter_s: float = 0.0
    first_n: int | None = None
    start: float | None = None
    end: float | None = None
    drop: bool = False
    malformed: bool = False
    probability: float = 1.0
    lose_response: bool = False
    fired: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.name is None:
            self.name = ""
        validate_fault(self)
        if not self.name:
            kind = (
                "drop"
                if self.drop
                else "malformed"
                if self.malformed
                else f"lost-response-{self.status}"
                if self.lose_response
                else f"status-{self.status}"
                if self.status is not None
                else "latency"
            )
            self.name = f"{self.group}-{kind}"

    @classmethod
    def from_dict(cls, data: Any, path: str = "fault") -> Fault:
        """Build from a plain dict (admin API, scenario YAML); unknown keys are an error."""
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping with keys {', '.join(_FAULT_KEYS)}")
        for key in data:
            if key not in _FAULT_KEYS:
                raise ValueError(f"{path}.{key}: unknown key; allowed: {', '.join(_FAULT_KEYS)}")
        if "group" not in data:
            raise ValueError(f"{path}.group: required; one of {', '.join(FAULT_GROUPS)}")
        try:
            return cls(**data)
        except TypeError as exc:  # pragma: no cover - keys are checked above
            raise ValueError(f"{path}: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def active(self, now: float) -> bool:
        if self.start is not None and now < self.start:
            return False
        return not (self.end is not None and now >= self.end)


def validate_fault(f: Fault) -> None:
    """Raise ValueError naming the field, value and fix for a nonsensical fault."""
    if f.group not in FAULT_GROUPS:
        raise ValueError(f"fault.group: {f.group!r} is not a group; use one of {FAULT_GROUPS}")
    if f.status is not None and (
        isinstance(f.status, bool) or not isinstance(f.status, int) or not 100 <= f.status <= 599
    ):
        raise ValueError(f"fault.status: {f.status!r} is not an HTTP status (100-599)")
    for name in ("latency_s", "jitter_s"):
        value = getattr(f, name)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"fault.{name}: {value!r} must be a number >= 0 (seconds)")
    if f.first_n is not None and (
        isinstance(f.first_n, bool) or not isinstance(f.first_n, int) or f.first_n < 1
    ):
        raise ValueError(f"fault.first_n: {f.first_n!r} must be an integer >= 1 or null")
    for name in ("start", "end"):
        value = getattr(f, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError(f"fault.{name}: {value!r} must be clock seconds or null")
    if f.start is not None and f.end is not None and f.end <= f.start:
        raise ValueError(f"fault.end: {f.end!r} must be after fault.start {f.start!r}")
    p = f.probability
    if isinstance(p, bool) or not isinstance(p, int | float) or not 0 < p <= 1:
        raise ValueError(f"fault.probability: {p!r} must be in (0, 1]")
    if f.lose_response and f.status is None and not f.drop:
        raise ValueError("fault.lose_response: needs status or drop (what replaces the answer)")
    for name in ("drop", "malformed", "lose_response"):
        if not isinstance(getattr(f, name), bool):
            raise ValueError(f"fault.{name}: {getattr(f, name)!r} must be true or false")
    if not isinstance(f.name, str):
        raise ValueError(f"fault.name: {f.name!r} must be a string")


@dataclass(frozen=True)
class FaultAction:
    """What the server must do for one request."""

    name: str
    delay_s: float
    status: int | None
    drop: bool
    malformed: bool
    lose_response: bool = False


def pick_fault(
    faults: list[Fault], group: str, now: float, rng: random.Random
) -> FaultAction | None:
    """The first fault of ``group`` that fires now, counted as fired; None if none fires."""
    if group == "admin":
        return None
    for f in faults:
        if f.group not in (group, "*") or not f.active(now):
            continue
        if f.first_n is not None and f.fired >= f.first_n:
            continue
        if f.probability < 1.0 and rng.random() >= f.probability:
            continue
        f.fired += 1
        delay = f.latency_s + (rng.uniform(0.0, f.jitter_s) if f.jitter_s > 0 else 0.0)
        return FaultAction(f.name or f.group, delay, f.status, f.drop, f.malformed, f.lose_response)
    return None
