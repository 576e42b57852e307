"""What a scenario step may expect: of the client's response, of what reached the upstream, of
the analytics the control plane received, and of how often the adapter called the control plane.
Pure models; matching lives in ``conformance``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from common.adapter_settings import SyncName
from common.durations import Duration
from scenarios.analytics_fields import CONVENTIONS

Decision = Literal["allowed", "denied", "error"]

MAX_WAIT = 3600.0
"""The longest any step may wait or keep trying (an hour): a scenario is a short flow."""

HttpStatus = Annotated[int, Field(ge=100, le=599)]
"""An HTTP status code."""

MAX_PATTERN = 1000
"""The longest regular expression a scenario may give (characters)."""


def compiled(pattern: str) -> str:
    """``pattern`` if it is a regular expression Python compiles, else a clear error."""
    if len(pattern) > MAX_PATTERN:
        raise ValueError(f"a regex of {len(pattern)} characters: at most {MAX_PATTERN}")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"regex {pattern!r} does not compile: {exc}") from None
    return pattern


Pattern = Annotated[str, AfterValidator(compiled)]
"""A regular expression, checked when the scenario loads."""


def _where_patterns(where: dict[str, Any]) -> dict[str, Any]:
    """Every ``{regex: ...}`` field matcher in an event's ``where`` compiles."""
    for key, value in where.items():
        if isinstance(value, dict) and "regex" in value:
            if set(value) != {"regex"} or not isinstance(value["regex"], str):
                raise ValueError(f"{key}: a field matcher is {{regex: '...'}}, got {value!r}")
            compiled(value["regex"])
        elif isinstance(value, dict):
            _where_patterns(value)
    return where


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class TextMatch(_Strict):
    """A text matcher: exactly one of ``equals``, ``contains``, ``regex``, or ``absent: true``."""

    equals: str | None = None
    contains: str | None = None
    regex: Pattern | None = None
    absent: bool = False

    @model_validator(mode="after")
    def _one_rule(self) -> TextMatch:
        rules = [self.equals is not None, self.contains is not None, self.regex is not None]
        if sum(rules) + int(self.absent) != 1:
            raise ValueError("give exactly one of equals, contains, regex or absent: true")
        return self


HeaderExpect = str | int | TextMatch | None
"""A header expectation: a string (exact value), a matcher, or null (the header must be absent)."""


class BodyExpect(_Strict):
    """A body matcher: exact text, a substring, a regex, or a JSON subset."""

    equals: str | None = None
    contains: str | None = None
    regex: Pattern | None = None
    json_subset: Any = Field(None, alias="json")
    empty: bool | None = None


class UpstreamExpect(_Strict):
    """What the echo upstream must (or must not) have received for this request."""

    received: bool = True
    method: str | None = None
    path: str | None = None
    headers: dict[str, HeaderExpect] = Field(default_factory=dict)
    body: BodyExpect | None = None


class ResponseExpect(_Strict):
    """What the client must see."""

    status: HttpStatus | list[HttpStatus] | None = None
    decision: Decision | None = None
    headers: dict[str, HeaderExpect] = Field(default_factory=dict)
    body: BodyExpect | None = None
    upstream: UpstreamExpect | None = None
    took_at_least: Duration | None = Field(
        None,
        ge=0,
        le=MAX_WAIT,
        description="The client waited at least this long for the answer (e.g. a request spike "
        "control held): a lower bound, which a loaded machine can only make easier to meet",
    )


class CountExpect(_Strict):
    """How many matching events: exactly ``count`` or within ``min``..``max``."""

    count: int | None = Field(None, ge=0)
    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)
    where: Annotated[dict[str, Any], AfterValidator(_where_patterns)] = Field(
        default_factory=dict,
        description="Event fields and their values (nested mappings field by field); a value "
        "{regex: '...'} matches a text field by regular expression",
    )


class BatchExpect(_Strict):
    """How the events were batched: the number of batches and the events per batch."""

    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)
    max_events: int | None = Field(None, ge=1, description="No batch holds more events")
    min_events: int | None = Field(None, ge=1, description="Every batch holds at least this many")
    min_retried: int | None = Field(
        None, ge=0, description="At least this many posts repeated an earlier batch id"
    )


class DropExpect(_Strict):
    """How many events the adapter reports dropped: exactly ``count`` or within ``min``..``max``."""

    count: int | None = Field(None, ge=0)
    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)


class AnalyticsExpect(_Strict):
    """Events the control plane's analytics ingest must have received, waited for up to
    ``within`` (or one ``within_sync`` interval of the adapter plus ``slack``)."""

    within: Duration | None = Field(None, le=MAX_WAIT)
    within_sync: SyncName | None = None
    slack: Duration = Field(1.0, le=MAX_WAIT)
    events: list[CountExpect] = Field(default_factory=list)
    batches: BatchExpect | None = None
    delivered_within: Duration | None = Field(
        None,
        le=MAX_WAIT,
        description="Every event reached the ingest within this long of its replied_ts",
    )
    no_duplicate_events: bool = True
    dropped: DropExpect | None = Field(
        None,
        description="Events the adapter reports dropped on its metrics endpoint, summed over "
        "replicas (feature analytics-loss-reporting)",
    )
    accounted_for: int | None = Field(
        None,
        ge=0,
        le=1_000_000,
        description="Distinct events received plus events the adapter reports dropped equal "
        "this: no event was lost silently (feature analytics-loss-reporting)",
    )

    @property
    def reads_metrics(self) -> bool:
        """Whether checking this needs the adapter's metrics endpoint."""
        return self.dropped is not None or self.accounted_for is not None


PlatformData = Literal[
    "token", "apis", "policies", "contracts", "applications", "tiers", "keepalive", "ingest", "jwks"
]
"""The data an adapter reads or sends, named as faults name it (``fake_anypoint.DataKind``;
``jwks``: the scenario's identity provider, journaled beside the control plane)."""

DATA_KINDS: tuple[str, ...] = get_args(PlatformData)
QueryName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-\[\]]+$")]
"""A query parameter's name."""
MAX_CALLS = 1_000_000


class PlatformCallsExpect(_Strict):
    """How many calls for one kind of ``data`` the control plane received from the adapter
    (every replica) in a window: ``during`` a named fault (from its first firing to its end),
    ``between`` two named earlier steps (from the start of the first to the end of the
    second), or, with neither, from the adapter's start until this step. Bound it with
    ``at_most`` (load only ever lowers a count, so an upper bound holds on any machine) and,
    with generous slack, ``at_least``."""

    data: PlatformData | Annotated[list[PlatformData], Field(max_length=len(DATA_KINDS))] = Field(
        description="token, apis, policies, contracts, applications, tiers, keepalive, ingest "
        "or jwks (the identity provider's key set); a list counts a call for any of them"
    )
    during: str | None = Field(
        None, min_length=1, description="The name of a fault (its name:) given before this step"
    )
    between: list[str] | None = Field(
        None,
        max_length=2,
        description="[first step, last step]: names of steps before this one (the same name "
        "twice for one step's own span)",
    )
    at_most: int | None = Field(None, ge=0, le=MAX_CALLS)
    at_least: int | None = Field(None, ge=0, le=MAX_CALLS)
    backoff: Duration | None = Field(
        None,
        gt=0,
        le=MAX_WAIT,
        description="After the k-th failed call in a row to one path, the next call to it came "
        "at least backoff x 2^(k-1) later (e.g. 400ms); choose intervals longer than the window",
    )
    convention: str | None = Field(
        None,
        description="The kit convention the bound derives from (e.g. retry-backoff): a profile "
        "that waives it skips this check",
    )
    answered: int | None = Field(
        None,
        ge=100,
        le=599,
        description="Count only the calls the control plane answered with this HTTP status "
        "(e.g. 304: re-reads of unchanged policies); the evidence still lists every call",
    )
    since: str | None = Field(
        None,
        min_length=1,
        description="The name of an earlier step: count from its start until now (e.g. the "
        "calls of an adapter restarted by that step)",
    )
    with_query: list[QueryName] = Field(
        default_factory=list,
        max_length=10,
        description="Count only the calls whose query string carries every one of these "
        "parameters (e.g. [updatedSince]: reads of the contracts feed from a cursor)",
    )
    within: Duration | None = Field(
        None,
        le=MAX_WAIT,
        description="Wait (polling the journal) until at_least calls have come, failing after "
        "this long: an event to wait for instead of a fixed wait",
    )
    within_sync: SyncName | None = Field(
        None, description="Wait as within, for intervals of this sync loop plus slack"
    )
    intervals: float = Field(1.0, gt=0, le=100, description="How many within_sync intervals")
    slack: Duration = Field(1.0, le=MAX_WAIT)

    @model_validator(mode="after")
    def _bounded(self) -> PlatformCallsExpect:
        if self.at_most is None and self.at_least is None and self.backoff is None:
            raise ValueError("give at_most (e.g. 4), at_least (e.g. 2) or backoff (e.g. 400ms)")
        if self.at_most is not None and self.at_least is not None and self.at_least > self.at_most:
            raise ValueError(
                f"at_least ({self.at_least}) is more than at_most ({self.at_most}): no count fits"
            )
        if self.between is not None and len(self.between) != 2:
            raise ValueError(
                f"between takes two step names, [first, last], got {len(self.between)}: give"
                " the same name twice for the span of one step"
            )
        if isinstance(self.data, list) and not self.data:
            raise ValueError("data lists no kind: name one or more, e.g. [token, policies]")
        if sum(w is not None for w in (self.during, self.between, self.since)) > 1:
            raise ValueError(
                "give at most one window: during (a fault), between (two steps) or since (a step)"
            )
        if self.within is not None and self.within_sync is not None:
            raise ValueError("give at most one deadline: within (e.g. 3s) or within_sync")
        if self.waits and (
            self.at_least is None or self.at_most is not None or self.backoff is not None
        ):
            raise ValueError(
                "within and within_sync wait until at_least calls have come: give at_least, and"
                " check at_most or backoff in a step of its own (they are checked once)"
            )
        if (self.answered is not None or self.with_query) and self.backoff is not None:
            raise ValueError(
                "backoff paces every call, whatever its answer or query: give answered or"
                " with_query with at_most or at_least, and backoff in a step of its own"
            )
        if self.convention is not None and self.convention not in CONVENTIONS:
            known = ", ".join(CONVENTIONS)
            raise ValueError(f"unknown convention {self.convention!r}; known: {known}")
        return self

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds of data counted."""
        return (self.data,) if isinstance(self.data, str) else tuple(self.data)

    def counted(self) -> str:
        """What is counted, in words: ``policies calls`` or ``policies calls answered 304``."""
        return f"{'/'.join(self.kinds)} calls" + self.filters()

    def filters(self) -> str:
        """The filters on the calls counted, in words (empty without any)."""
        answered = f" answered {self.answered}" if self.answered else ""
        query = f" carrying {', '.join(self.with_query)}" if self.with_query else ""
        return answered + query

    @property
    def waits(self) -> bool:
        """Whether the step polls until ``at_least`` holds (a deadline is given)."""
        return self.within is not None or self.within_sync is not None

    def window(self) -> str:
        """The window in words, for messages."""
        if self.during is not None:
            return f"during fault {self.during!r}"
        if self.since is not None:
            return f"since the start of step {self.since!r}"
        if self.between is not None:
            return (
                f"between the start of step {self.between[0]!r} and the end of {self.between[1]!r}"
            )
        return "since the adapter started"
