"""cors (extended profile). A preflight (``OPTIONS`` with ``Origin`` and
``Access-Control-Request-Method``) is answered by the adapter itself: 200 with the CORS headers
when the origin and method are allowed, 403 otherwise (reference choice). Actual requests from an
allowed origin pass with ``Access-Control-Allow-Origin`` (and credentials) added to the
response; other requests pass untouched (the browser enforces)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from reference_adapter.contracts import Contract
from reference_adapter.model import JSON_CONTENT_TYPE, CheckInput, Decision, Denial, Header
from reference_adapter.policies.base import ConfigReader, PolicyContext


@dataclass(frozen=True, slots=True)
class OriginGroup:
    origins: frozenset[str]
    methods: frozenset[str]
    headers: frozenset[str]
    max_age: int
    exposed: tuple[str, ...] = ()

    def allows_headers(self, asked: list[str]) -> bool:
        """Requested headers are allowed when the group lists none, lists ``*`` (MuleSoft:
        "Wildcards (`*`) are accepted in the Origins and Headers sections") or lists them all."""
        if not self.headers or "*" in self.headers:
            return True
        return all(h in self.headers for h in asked)


def _strings(reader: ConfigReader, where: str, value: object) -> frozenset[str]:
    return frozenset(_string_list(reader, where, value))


def _string_list(reader: ConfigReader, where: str, value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    if not isinstance(value, list):
        raise reader.error(where, value, "a list of strings")
    items = []
    for item in value:
        if isinstance(item, Mapping):  # tf shape: [{"value": "..."}] / [{"methodName": ...}]
            item = next(iter(item.values()), "")
        items.append(str(item).strip())
    return items


def _methods(reader: ConfigReader, entry: Mapping[str, Any]) -> frozenset[str]:
    """``allowedMethods`` as MuleSoft documents it (``[{methodName, isAllowed}]``, the methods
    with ``isAllowed: false`` left out), else ``methods`` (a list of names)."""
    allowed = entry.get("allowedMethods")
    if allowed is None:
        return frozenset(
            m.upper() for m in _strings(reader, "originGroups.methods", entry.get("methods"))
        )
    if not isinstance(allowed, list):
        raise reader.error(
            "originGroups.allowedMethods", allowed, "a list of {methodName, isAllowed}"
        )
    methods = set()
    for item in allowed:
        if isinstance(item, str):
            methods.add(item.strip().upper())
            continue
        name = item.get("methodName") if isinstance(item, Mapping) else None
        if not isinstance(name, str) or not name.strip():
            raise reader.error(
                "originGroups.allowedMethods", item, "a list of {methodName, isAllowed}"
            )
        if ConfigReader(reader.asset_id, item).boolean("isAllowed", True):
            methods.add(name.strip().upper())
    if not methods:  # every method refused: nothing may be asked for
        methods.add("")
    return frozenset(methods)


def _group(reader: ConfigReader, entry: object) -> OriginGroup:
    if not isinstance(entry, Mapping):
        raise reader.error("originGroups", entry, "a list of objects")
    return OriginGroup(
        origins=_strings(reader, "originGroups.origins", entry.get("origins")),
        methods=_methods(reader, entry),
        headers=frozenset(
            h.lower() for h in _strings(reader, "originGroups.headers", entry.get("headers"))
        ),
        max_age=int(entry.get("accessControlMaxAge") or 0),
        exposed=tuple(
            _string_list(reader, "originGroups.exposedHeaders", entry.get("exposedHeaders"))
        ),
    )


class Cors:
    """The policy object; see the module docstring."""

    asset_id: ClassVar[str] = "cors"
    uses_contracts: bool = False
    is_async: bool = False

    def __init__(self, public: bool, credentials: bool, groups: tuple[OriginGroup, ...]):
        self.public = public
        self.credentials = credentials
        self.groups = groups
        self._rejected = Denial.of(403, "CORS preflight rejected")

    @classmethod
    def from_configuration(
        cls, configuration: Mapping[str, Any] | None, context: PolicyContext | None = None
    ) -> Cors:
        reader = ConfigReader(cls.asset_id, configuration)
        groups = [_group(reader, entry) for entry in reader.list_of("originGroups", [])]
        public = reader.boolean("publicResource", True)
        if not public and not groups:
            raise reader.error("originGroups", [], "at least one group when publicResource is off")
        return cls(public, reader.boolean("supportCredentials", False), tuple(groups))

    def _group(self, origin: str) -> OriginGroup | None:
        """The group listing this origin, else the first with the ``*`` origin (MuleSoft: "the
        non-wildcard settings override the wildcard configurations")."""
        wildcard = None
        for group in self.groups:
            if origin in group.origins:
                return group
            if wildcard is None and "*" in group.origins:
                wildcard = group
        return wildcard

    def _allow_origin(self, origin: str) -> list[Header]:
        headers: list[Header] = []
        if self.public and not self.credentials:
            headers.append(("access-control-allow-origin", "*"))
        else:
            headers.append(("access-control-allow-origin", origin))
            headers.append(("vary", "Origin"))
        if self.credentials:
            headers.append(("access-control-allow-credentials", "true"))
        return headers

    def check(
        self,
        request: CheckInput,
        now: float,
        decision: Decision,
        contracts: Mapping[str, Contract],
    ) -> Denial | None:
        headers = request.headers
        origin = headers.get("origin")
        if not origin:
            return None
        group = self._group(origin)
        allowed = self.public or group is not None
        wanted = headers.get("access-control-request-method")
        if request.method == "OPTIONS" and wanted:
            method = wanted.upper()
            if not allowed or (group is not None and group.methods and method not in group.methods):
                return self._rejected
            asked = [
                h.strip().lower()
                for h in headers.get("access-control-request-headers", "").split(",")
                if h.strip()
            ]
            if group is not None and not group.allows_headers(asked):
                return self._rejected
            answer = self._allow_origin(origin)
            answer.append(("access-control-allow-methods", method))
            if asked:
                answer.append(("access-control-allow-headers", ", ".join(asked)))
            if group is not None and group.max_age:
                answer.append(("access-control-max-age", str(group.max_age)))
            answer.append(JSON_CONTENT_TYPE)
            return Denial(200, "CORS preflight", tuple(answer), b"")
        if allowed:
            for name, value in self._allow_origin(origin):
                decision.add_response_header(name, value)
            if group is not None and group.exposed:
                decision.add_response_header(
                    "access-control-expose-headers", ", ".join(group.exposed)
                )
        return None
