"""How analytics event fields are compared: normative fields exactly as documented, tolerant ones
by value (ids whatever their JSON type, enumerations in any case), and the kit conventions a
profile may waive. docs/adapter-contract.md §2.6 carries the same table for adapter authors."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Rule(StrEnum):
    """How an expected value is compared with a received one."""

    EXACT = "exact"
    """Equal JSON values (a platform or Envoy fact, or a safety property)."""
    BY_VALUE = "by_value"
    """Ids and numbers: ``10001``, ``"10001"`` and ``10001.0`` are the same value."""
    ANY_CASE = "any_case"
    """Enumerations and names: ``processed`` equals ``PROCESSED``."""


@dataclass(frozen=True, slots=True)
class FieldRule:
    """One event field: how it is compared, and why (normative) or that the platform is silent
    (tolerant)."""

    rule: Rule
    normative: bool
    why: str


FIELDS: dict[str, FieldRule] = {
    "event_id": FieldRule(Rule.EXACT, True, "events are deduplicated by id"),
    "transaction_id": FieldRule(Rule.EXACT, True, "the request's x-request-id (Envoy sets it)"),
    "api_id": FieldRule(Rule.BY_VALUE, False, "an API Manager id; JSON type not documented"),
    "api_version_id": FieldRule(Rule.BY_VALUE, False, "an API Manager id; type not documented"),
    "org_id": FieldRule(Rule.EXACT, True, "the organization the adapter logged in to"),
    "client_id": FieldRule(Rule.EXACT, True, "the application's client id, as issued"),
    "client_ip": FieldRule(Rule.EXACT, True, "attributes.source.address from Envoy"),
    "verb": FieldRule(Rule.ANY_CASE, False, "HTTP method; case not documented for events"),
    "path": FieldRule(Rule.EXACT, True, "the request path without its query"),
    "status_code": FieldRule(Rule.BY_VALUE, True, "the decision's HTTP status (a number)"),
    "user_agent": FieldRule(Rule.EXACT, True, "the request's user-agent header"),
    "request_bytes": FieldRule(Rule.BY_VALUE, False, "a size; JSON type not documented"),
    "response_bytes": FieldRule(Rule.BY_VALUE, False, "a size; JSON type not documented"),
    "request_disposition": FieldRule(Rule.ANY_CASE, False, "an enumeration; case not documented"),
    "policy_violation.policy_id": FieldRule(Rule.BY_VALUE, False, "a policy id; type not given"),
    "policy_violation.policy_name": FieldRule(
        Rule.ANY_CASE, False, "the policy's asset id; case not documented"
    ),
}
"""Every field a scenario compares; fields not listed compare exactly."""


@dataclass(frozen=True, slots=True)
class Convention:
    """A kit convention where the platform is silent, which a profile may waive."""

    name: str
    summary: str
    fields: tuple[str, ...] = ()
    """Event fields whose ``null`` expectation it governs (dropped when waived)."""
    checks: tuple[str, ...] = ()
    """Checks it governs (skipped when waived): batch checks, or ``platform_calls`` for the
    steps that name it as their ``convention``. A scenario that relies on a convention as a
    whole names it under ``conventions:`` and is not run when it is waived."""


CONVENTIONS: dict[str, Convention] = {
    c.name: c
    for c in (
        Convention(
            "client-id-only-when-authenticated",
            "an event carries client_id only when the client's credentials were accepted",
            fields=("client_id",),
        ),
        Convention(
            "batch-id-reused-on-retry",
            "a retried analytics POST repeats its X-Batch-Id, so the ingest can count retries",
            checks=("min_retried",),
        ),
        Convention(
            "bound-api-served-within-policy-sync",
            "an API newly bound to a mesh service serves its approved clients within one "
            "policy sync: its contracts are read when it appears, not at the next contracts "
            "interval",
        ),
        Convention(
            "rebound-api-reads-contracts-again",
            "an API that leaves the API list (its binding deleted) and comes back is a new API:"
            " 503 until its contracts are read again, never served from the contracts held"
            " before",
        ),
        Convention(
            "retry-backoff",
            "a failed call is retried after at least min(0.4 s x 2^(k-1), the interval) for a"
            " sync and min(0.8 s x 2^(k-1), the push interval) for analytics (k-th retry)",
            checks=("platform_calls",),
        ),
    )
}


def normalise(field: str, value: Any) -> Any:
    """The value as compared under ``field``'s rule."""
    rule = FIELDS[field].rule if field in FIELDS else Rule.EXACT
    if value is None or isinstance(value, bool | dict | list):
        return value
    if rule == Rule.BY_VALUE:
        if isinstance(value, int | float) and float(value).is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value.strip())
        return value
    if rule == Rule.ANY_CASE and isinstance(value, str):
        return value.casefold()
    return value


def field_differences(
    where: dict[str, Any], event: dict[str, Any], prefix: str = ""
) -> list[tuple[str, Any, Any]]:
    """``(field, expected, received)`` for every field of ``where`` the event does not match
    (nested mappings field by field; a missing field is received as ``"missing"``)."""
    out: list[tuple[str, Any, Any]] = []
    for key, expected in where.items():
        name = f"{prefix}{key}"
        if not isinstance(event, dict) or key not in event:
            if expected is not None:
                out.append((name, expected, "missing"))
            continue
        received = event[key]
        if _is_pattern(expected):
            if not (isinstance(received, str) and re.search(expected["regex"], received)):
                out.append((name, expected, received))
        elif isinstance(expected, dict) and isinstance(received, dict):
            out.extend(field_differences(expected, received, f"{name}."))
        elif normalise(name, expected) != normalise(name, received):
            out.append((name, expected, received))
    return out


def _is_pattern(expected: Any) -> bool:
    """``{regex: '...'}``: a text field matched by regular expression."""
    return isinstance(expected, dict) and set(expected) == {"regex"}


def waive(where: dict[str, Any], waived: set[str]) -> dict[str, Any]:
    """``where`` without the null expectations that waived conventions govern."""
    dropped = {f for name in waived for f in CONVENTIONS[name].fields}
    return {k: v for k, v in where.items() if not (k in dropped and v is None)}


def nearest(
    where: dict[str, Any], events: list[dict[str, Any]], limit: int = 3
) -> list[dict[str, Any]]:
    """The received events closest to ``where`` (fewest differing fields), each with its
    field-by-field differences, for a failure's evidence."""
    scored = sorted(
        ((field_differences(where, e), i) for i, e in enumerate(events)),
        key=lambda pair: (len(pair[0]), pair[1]),
    )
    out = []
    for diffs, index in scored[:limit]:
        event = events[index]
        shown = {k: event.get(k) for k in where if k in event}
        out.append(
            {
                "event": shown,
                "event_id": event.get("event_id"),
                "differences": [
                    {"field": f, "expected": exp, "received": got} for f, exp, got in diffs
                ],
            }
        )
    return out
