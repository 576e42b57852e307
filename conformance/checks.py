"""Matching a response (and what reached the upstream) against what a step expected; every
difference becomes a ``Mismatch`` naming the field, the expected value and the actual one."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Protocol

from reports import Mismatch
from scenarios.expectations import (
    BodyExpect,
    HeaderExpect,
    ResponseExpect,
    TextMatch,
    UpstreamExpect,
)


class SeenUpstream(Protocol):
    """What the echo upstream recorded (``simulator.UpstreamRequest`` fits)."""

    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def headers(self) -> Sequence[tuple[str, str]]: ...
    @property
    def body(self) -> bytes: ...


class SeenResponse(Protocol):
    """What the client saw (``simulator.ClientResponse`` fits)."""

    @property
    def status(self) -> int: ...
    @property
    def headers(self) -> Sequence[tuple[str, str]]: ...
    @property
    def body(self) -> bytes: ...
    @property
    def decision(self) -> str: ...
    @property
    def upstream(self) -> SeenUpstream | None: ...
    @property
    def duration_s(self) -> float: ...


def check_response(expect: ResponseExpect, response: SeenResponse) -> list[Mismatch]:
    """Every way ``response`` differs from ``expect``."""
    out: list[Mismatch] = []
    if expect.status is not None:
        allowed = expect.status if isinstance(expect.status, list) else [expect.status]
        if response.status not in allowed:
            out.append(Mismatch("status", expect.status, response.status))
    if expect.decision is not None and response.decision != expect.decision:
        out.append(Mismatch("decision", expect.decision, response.decision))
    out.extend(check_headers("headers", expect.headers, response.headers))
    if expect.body is not None:
        out.extend(check_body("body", expect.body, response.body))
    if expect.upstream is not None:
        out.extend(check_upstream(expect.upstream, response.upstream))
    if expect.took_at_least is not None and response.duration_s < expect.took_at_least:
        waited = f"{1000 * response.duration_s:.1f}ms"
        out.append(Mismatch("took", f"at least {1000 * expect.took_at_least:g}ms", waited))
    return out


def check_upstream(expect: UpstreamExpect, seen: SeenUpstream | None) -> list[Mismatch]:
    if seen is None:
        return [] if not expect.received else [Mismatch("upstream.received", True, False)]
    if not expect.received:
        return [Mismatch("upstream.received", False, f"{seen.method} {seen.path}")]
    out: list[Mismatch] = []
    if expect.method is not None and seen.method != expect.method:
        out.append(Mismatch("upstream.method", expect.method, seen.method))
    if expect.path is not None and seen.path != expect.path:
        out.append(Mismatch("upstream.path", expect.path, seen.path))
    out.extend(check_headers("upstream.headers", expect.headers, seen.headers))
    if expect.body is not None:
        out.extend(check_body("upstream.body", expect.body, seen.body))
    return out


def header_value(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    """All values of ``name`` (case-insensitive), joined with ``,`` as Envoy joins them."""
    values = [v for k, v in headers if k.lower() == name.lower()]
    return ",".join(values) if values else None


def check_headers(
    where: str, expected: dict[str, HeaderExpect], headers: Sequence[tuple[str, str]]
) -> list[Mismatch]:
    out = []
    for name, rule in expected.items():
        actual = header_value(headers, name)
        if not text_matches(rule, actual):
            out.append(Mismatch(f"{where}.{name.lower()}", describe(rule), actual))
    return out


def text_matches(rule: HeaderExpect, actual: str | None) -> bool:
    """Whether ``actual`` (None when absent) satisfies ``rule``."""
    if rule is None:
        return actual is None
    if isinstance(rule, str | int):
        return actual == str(rule)
    if rule.absent:
        return actual is None
    if actual is None:
        return False
    if rule.equals is not None:
        return actual == rule.equals
    if rule.contains is not None:
        return rule.contains in actual
    return rule.regex is not None and re.search(rule.regex, actual) is not None


def describe(rule: HeaderExpect) -> Any:
    if isinstance(rule, TextMatch):
        return rule.model_dump(exclude_defaults=True)
    return "absent" if rule is None else rule


def check_body(where: str, expect: BodyExpect, body: bytes) -> list[Mismatch]:
    text = body.decode("utf-8", errors="replace")
    out = []
    if expect.empty is not None and (len(body) == 0) != expect.empty:
        out.append(Mismatch(f"{where}.empty", expect.empty, text[:200]))
    if expect.equals is not None and text != expect.equals:
        out.append(Mismatch(f"{where}.equals", expect.equals, text[:500]))
    if expect.contains is not None and expect.contains not in text:
        out.append(Mismatch(f"{where}.contains", expect.contains, text[:500]))
    if expect.regex is not None and re.search(expect.regex, text) is None:
        out.append(Mismatch(f"{where}.regex", expect.regex, text[:500]))
    if expect.json_subset is not None:
        try:
            document = json.loads(text)
        except ValueError:
            out.append(Mismatch(f"{where}.json", expect.json_subset, f"not JSON: {text[:200]!r}"))
        else:
            out.extend(json_subset_mismatches(f"{where}.json", expect.json_subset, document))
    return out


def json_subset_mismatches(where: str, expected: Any, actual: Any) -> list[Mismatch]:
    """Differences where ``expected`` is not contained in ``actual`` (dicts by key, lists by
    position, scalars by equality)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [Mismatch(where, expected, actual)]
        out = []
        for key, value in expected.items():
            if key not in actual:
                out.append(Mismatch(f"{where}.{key}", value, "missing"))
            else:
                out.extend(json_subset_mismatches(f"{where}.{key}", value, actual[key]))
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) < len(expected):
            return [Mismatch(where, expected, actual)]
        out = []
        for i, value in enumerate(expected):
            out.extend(json_subset_mismatches(f"{where}[{i}]", value, actual[i]))
        return out
    return [] if expected == actual else [Mismatch(where, expected, actual)]
