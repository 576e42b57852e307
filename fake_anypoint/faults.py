"""Faults, defined by the data they withhold: ``FaultSpec`` (the one model scenarios, what-ifs
and the admin API write), its anchored form ``ActiveFault``, and picking the fault that fires.

A fault names data kinds (token, APIs, policies, contracts, ...), never endpoints: every route
declares the kinds it serves, public API Manager v1 and kit-specific alike, so a fault on
``policies`` hits every endpoint an adapter could read policies from.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from common.durations import Duration


class DataKind(StrEnum):
    """What an endpoint serves. The first eight are what adapters read or send."""

    TOKEN = "token"
    APIS = "apis"
    POLICIES = "policies"
    CONTRACTS = "contracts"
    APPLICATIONS = "applications"
    TIERS = "tiers"
    KEEPALIVE = "keepalive"
    INGEST = "ingest"
    ACCOUNTS = "accounts"
    ASSETS = "assets"
    ANALYTICS_QUERY = "analytics_query"
    CLI = "cli"
    JWKS = "jwks"
    """An identity provider's key set (a scenario's ``identity_provider``, not an Anypoint
    endpoint): only faults naming it explicitly hit it, never ``*``."""
    ALL = "*"


ADAPTER_DATA: tuple[DataKind, ...] = tuple(DataKind)[:8]
"""The data kinds an adapter reads or sends (the rest serve people and tools)."""


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


_KIND_VALUES = [kind.value for kind in DataKind]
DataKinds = Annotated[
    list[DataKind],
    BeforeValidator(_one_or_many),
    Field(min_length=1, max_length=len(DataKind)),
    WithJsonSchema(
        {
            "anyOf": [
                {"enum": _KIND_VALUES},
                {"type": "array", "items": {"enum": _KIND_VALUES}, "minItems": 1},
            ]
        }
    ),
]
"""One data kind or a list of them (always a list once validated)."""


class FaultSpec(BaseModel):
    """A fault on the control plane, from ``after`` for ``lasting`` (both from the moment it is
    added; without ``lasting`` it stays until cleared).

    - ``status``: answer this HTTP status with ``{"message": "injected fault <name>"}``; a
      3xx is a redirect, as from a misconfigured proxy, to a path the fake does not serve; a
      2xx is another success: the request is served and its real answer sent with this status
      (an ingest answering 200 where the fake answers 202): only a success's status changes;
    - ``drop``: close the connection without an answer; ``malformed``: 200 with truncated JSON;
      ``wrong_shape``: the real 200 answer, well-formed JSON whose arrays and objects have
      swapped places (`swap_shape`), as from a proxy or an API version the adapter does not know;
    - ``latency`` (+ a seeded uniform ``[0, jitter]``): delay, then the above or a normal answer;
    - ``lose_response``: serve the request (its effects stay), then answer ``status`` or drop
      instead of the real answer, as when a proxy cuts the reply;
    - ``first_n``: fire only for the first N matching requests; ``probability``: seeded thinning;
    - ``required``: the case relies on it, so it must fire at least once (else a kit error).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    data: DataKinds = Field(
        description="The data withheld: token, apis, policies, contracts, applications, tiers, "
        "keepalive, ingest (also accounts, assets, analytics_query, cli), or * for all of "
        "those; jwks: the scenario's identity provider's JWKS document; one kind or a list",
    )
    status: int | None = Field(None, ge=200, le=599)
    drop: bool = False
    malformed: bool = False
    wrong_shape: bool = False
    lose_response: bool = False
    latency: Duration = Field(0.0, le=3600)
    jitter: Duration = Field(0.0, le=3600)
    first_n: int | None = Field(None, ge=1, le=1_000_000)
    probability: float = Field(1.0, gt=0, le=1)
    after: Duration = 0.0
    lasting: Duration | None = None
    name: str = Field("", max_length=200)
    required: bool = Field(
        True, description="The case relies on this fault: it must fire at least once"
    )

    @field_validator("probability")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError(f"must be a number in (0, 1], got {value!r}")
        return value

    @model_validator(mode="after")
    def _does_something(self) -> FaultSpec:
        if self.lose_response and self.status is None and not self.drop:
            raise ValueError("lose_response needs status or drop: what replaces the answer")
        if self.succeeds and (self.lose_response or self.drop or self.malformed):
            raise ValueError(
                f"status {self.status} is a success: it serves the request and sends its "
                "answer, so it cannot go with lose_response, drop or malformed"
            )
        if self.status is None and not (
            self.drop or self.malformed or self.wrong_shape or self.latency
        ):
            raise ValueError(
                "say what the fault does: status (e.g. 503), drop: true, malformed: true, "
                "wrong_shape: true or latency (e.g. 2s)"
            )
        if self.lasting is not None and self.lasting <= 0:
            raise ValueError("lasting must be more than 0s (leave it out to last until cleared)")
        return self

    @property
    def succeeds(self) -> bool:
        """A 2xx status: the request is served, only the answer's status changes."""
        return self.status is not None and self.status < 300

    @property
    def label(self) -> str:
        """The fault's name, or one made of its data kinds and effect."""
        if self.name:
            return self.name
        effect = (
            "drop"
            if self.drop and not self.lose_response
            else "malformed"
            if self.malformed
            else "wrong-shape"
            if self.wrong_shape
            else f"lost-response-{self.status or 'drop'}"
            if self.lose_response
            else f"status-{self.status}"
            if self.status is not None
            else "latency"
        )
        return f"{'+'.join(self.data)}-{effect}".replace("*", "all")

    def describe(self) -> str:
        """One line for traces: ``policies-status-503 on policies after 1s for 2s``."""
        window = f" for {self.lasting:g}s" if self.lasting is not None else ""
        delay = f" after {self.after:g}s" if self.after else ""
        return f"{self.label} on {', '.join(self.data)}{delay}{window}"

    def withholds(self, served: frozenset[DataKind]) -> bool:
        """Whether a route serving ``served`` is hit."""
        return DataKind.ALL in self.data or any(kind in served for kind in self.data)


@dataclass
class ActiveFault:
    """A ``FaultSpec`` anchored on the state clock: its window and how often it fired."""

    spec: FaultSpec
    start: float
    end: float | None
    fired: int = 0
    from_first_hit: bool = False
    """``lasting`` counts from the first request it hits (a fault in place "at start" lasts as
    long for the adapter whenever the adapter first asks, however long it took to start)."""

    def active(self, now: float) -> bool:
        return self.start <= now and (self.end is None or now < self.end)

    def at_start(self, now: float) -> None:
        """Make this a fault in place when an adapter starts: without ``after`` it is on until
        its first hit and lasts ``lasting`` from there; with ``after`` its window counts from
        ``now`` (when the adapter is up)."""
        if self.spec.after == 0:
            self.from_first_hit, self.end = True, None
            return
        self.start = now + self.spec.after
        self.end = self.start + self.spec.lasting if self.spec.lasting is not None else None

    def hit(self, now: float) -> None:
        """Count one firing (opening the window of a fault that lasts from its first hit)."""
        if self.fired == 0 and self.from_first_hit and self.spec.lasting is not None:
            self.end = now + self.spec.lasting
        self.fired += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.spec.label,
            "spec": self.spec.model_dump(mode="json", exclude_defaults=True),
            "start": self.start,
            "end": self.end,
            "fired": self.fired,
            "from_first_hit": self.from_first_hit,
        }


def anchor(spec: FaultSpec, now: float) -> ActiveFault:
    """The fault's window, counted from ``now``."""
    start = now + spec.after
    return ActiveFault(spec, start, start + spec.lasting if spec.lasting is not None else None)


@dataclass(frozen=True)
class FaultAction:
    """What the server must do for one request."""

    name: str
    delay_s: float
    status: int | None
    drop: bool
    malformed: bool
    lose_response: bool = False
    wrong_shape: bool = False


def swap_shape(body: Any) -> Any:
    """The answer with its shape wrong but its JSON well-formed: a top-level array becomes an
    object keyed by index; in a top-level object, every array value becomes such an object
    and every object value the list of its values. Scalars stay."""

    def swap(value: Any) -> Any:
        if isinstance(value, list):
            return {str(i): item for i, item in enumerate(value)}
        if isinstance(value, dict):
            return list(value.values())
        return value

    if isinstance(body, dict):
        return {key: swap(value) for key, value in body.items()}
    return swap(body)


def pick_fault(
    faults: list[ActiveFault], served: frozenset[DataKind], now: float, rng: random.Random
) -> FaultAction | None:
    """The first fault hitting a route that serves ``served`` and firing now (counted as
    fired); None if none fires. Routes that serve nothing (the admin API) are never hit."""
    if not served:
        return None
    for fault in faults:
        spec = fault.spec
        if not spec.withholds(served) or not fault.active(now):
            continue
        if spec.first_n is not None and fault.fired >= spec.first_n:
            continue
        if spec.probability < 1.0 and rng.random() >= spec.probability:
            continue
        fault.hit(now)
        delay = spec.latency + (rng.uniform(0.0, spec.jitter) if spec.jitter > 0 else 0.0)
        return FaultAction(
            spec.label,
            delay,
            spec.status,
            spec.drop,
            spec.malformed,
            spec.lose_response,
            spec.wrong_shape,
        )
    return None
