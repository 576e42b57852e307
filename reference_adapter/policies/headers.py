"""header-injection and header-removal (extended profile), applied through ext_authz mutations:
``inboundHeaders`` change the request that reaches the upstream (added / removed),
``outboundHeaders`` of header-injection are added to the client's response. Removing *response*
headers is not possible through ext_authz, so header-removal ``outboundHeaders`` is a
configuration error."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from reference_adapter.contracts import Contract
from reference_adapter.model import CheckInput, Decision, Denial, Header
from reference_adapter.policies.base import ConfigReader, PolicyContext
from reference_adapter.policies.bounded_regex import MAX_SUBJECT, compile_bounded


def _pairs(reader: ConfigReader, key: str) -> tuple[Header, ...]:
    pairs: list[Header] = []
    for entry in reader.list_of(key, []):
        if not isinstance(entry, Mapping):
            raise reader.error(key, entry, "a list of {key, value}")
        name = entry.get("key", entry.get("name"))
        value = entry.get("value")
        if not isinstance(name, str) or not name.strip() or value is None:
            raise reader.error(key, entry, "a list of {key, value} with a header name")
        text = str(value)
        if text.strip().startswith("#["):
            raise reader.error(key, entry, "a literal value (DataWeave is not evaluated here)")
        pairs.append((name.strip().lower(), text))
    return tuple(pairs)


def _names(reader: ConfigReader, key: str, lower: bool = True) -> tuple[str, ...]:
    raw = reader.data.get(key)
    if raw is None or raw == "":
        return ()
    if isinstance(raw, str):
        items: list[Any] = raw.split(",")
    elif isinstance(raw, list):
        items = [e.get("key", e.get("name")) if isinstance(e, Mapping) else e for e in raw]
    else:
        raise reader.error(key, raw, "a list of header names")
    names = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise reader.error(key, raw, "a list of header names")
        names.append(item.strip().lower() if lower else item.strip())
    return tuple(names)


SINGLE_VALUED = frozenset(
    {"access-control-allow-origin", "content-type", "content-length", "transfer-encoding"}
)
"""Headers an injection overwrites; any other injected header goes beside an existing one of
the same name (MuleSoft's Header Injection page, Mule 4 and Flex Gateway)."""


class HeaderInjection:
    """Adds ``inboundHeaders`` upstream and ``outboundHeaders`` to the response, each beside
    an existing header of its name (the request's own for inbound: Envoy joins the two with a
    comma), but in place of one of the `SINGLE_VALUED` headers."""

    asset_id: ClassVar[str] = "header-injection"
    uses_contracts: bool = False
    is_async: bool = False

    def __init__(self, inbound: tuple[Header, ...], outbound: tuple[Header, ...]) -> None:
        self.inbound = inbound
        self.outbound = outbound

    @classmethod
    def from_configuration(
        cls, configuration: Mapping[str, Any] | None, context: PolicyContext | None = None
    ) -> HeaderInjection:
        reader = ConfigReader(cls.asset_id, configuration)
        return cls(_pairs(reader, "inboundHeaders"), _pairs(reader, "outboundHeaders"))

    def check(
        self,
        request: CheckInput,
        now: float,
        decision: Decision,
        contracts: Mapping[str, Contract],
    ) -> Denial | None:
        for name, value in self.inbound:
            if name in request.headers and name not in SINGLE_VALUED:
                decision.append_upstream(name, value)
            else:
                decision.set_upstream(name, value)
        for name, value in self.outbound:
            if name in SINGLE_VALUED:
                decision.add_response_header(name, value)
            else:
                decision.append_response_header(name, value)
        return None


PROTECTED = frozenset(
    {
        "accept",
        "connection",
        "content-length",
        "content-type",
        "date",
        "host",
        "transfer-encoding",
        "user-agent",
    }
)
"""Headers header-removal never removes (MuleSoft's Header Removal page: "The following headers
may not be removed"; the Flex Gateway page leaves user-agent out of its list, the Mule 4 page,
followed here, has it)."""

_PLAIN_NAME = re.compile(r"^[a-z0-9_-]+$")


def _removal_patterns(reader: ConfigReader) -> tuple[re.Pattern[str], ...]:
    """The ``inboundHeaders`` entries that are not plain names, as case-insensitive regular
    expressions (read as written: lowercasing would turn ``\\D`` into ``\\d``)."""
    patterns = []
    for name in _names(reader, "inboundHeaders", lower=False):
        if _PLAIN_NAME.match(name.lower()):
            continue
        try:
            patterns.append(compile_bounded(name, re.IGNORECASE))
        except ValueError as exc:
            raise reader.error(
                "inboundHeaders", name, f"a header name or a bounded regular expression: {exc}"
            ) from None
    return tuple(patterns)


class HeaderRemoval:
    """Removes ``inboundHeaders`` from the upstream request: header names, and regular
    expressions (``Access-Control.*``) matched in full against the request's header names,
    never a `PROTECTED` header."""

    asset_id: ClassVar[str] = "header-removal"
    uses_contracts: bool = False
    is_async: bool = False

    def __init__(self, inbound: tuple[str, ...], patterns: tuple[re.Pattern[str], ...] = ()):
        self.inbound = tuple(n for n in inbound if _PLAIN_NAME.match(n) and n not in PROTECTED)
        self.patterns = patterns

    @classmethod
    def from_configuration(
        cls, configuration: Mapping[str, Any] | None, context: PolicyContext | None = None
    ) -> HeaderRemoval:
        reader = ConfigReader(cls.asset_id, configuration)
        outbound = _names(reader, "outboundHeaders")
        if outbound:
            raise reader.error(
                "outboundHeaders",
                list(outbound),
                "an empty list: ext_authz cannot remove response headers "
                "(Envoy's OkHttpResponse only adds them)",
            )
        return cls(_names(reader, "inboundHeaders"), _removal_patterns(reader))

    def check(
        self,
        request: CheckInput,
        now: float,
        decision: Decision,
        contracts: Mapping[str, Contract],
    ) -> Denial | None:
        # every configured name, present or not: in HTTP service mode the adapter sees only
        # the headers Envoy forwards, and removing an absent header is a no-op for Envoy; a
        # pattern can only match the headers the adapter sees
        removed = self.inbound
        if self.patterns:
            removed = removed + tuple(
                name
                for name in request.headers
                if name not in PROTECTED
                and name not in removed
                and not name.startswith(":")
                and len(name) <= MAX_SUBJECT
                and any(p.fullmatch(name) for p in self.patterns)
            )
        if removed:
            decision.upstream_remove = decision.upstream_remove + removed
        return None
