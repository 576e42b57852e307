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


def _strings(reader: ConfigReader, where: str, value: object) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    if not isinstance(value, list):
        raise reader.error(where, value, "a list of strings")
    items = []
    for item in value:
        if isinstance(item, Mapping):  # tf shape: [{"value": "..."}] / [{"methodName": ...}]
            item = next(iter(item.values()), "")
        items.append(str(item).strip())
    return frozenset(items)


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
        groups = []
        for entry in reader.list_of("originGroups", []):
            if not isinstance(entry, Mapping):
                raise reader.error("originGroups", entry, "a list of objects")
            groups.append(
                OriginGroup(
                    origins=_strings(reader, "originGroups.origins", entry.get("origins")),
                    methods=frozenset(
                        m.upper()
                        for m in _strings(reader, "originGroups.methods", entry.get("methods"))
                    ),
                    headers=frozenset(
                        h.lower()
                        for h in _strings(reader, "originGroups.headers", entry.get("headers"))
                    ),
                    max_age=int(entry.get("accessControlMaxAge") or 0),
                )
            )
        public = reader.boolean("publicResource", True)
        if not public and not groups:
            raise reader.error("originGroups", [], "at least one group when publicResource is off")
        return cls(public, reader.boolean("supportCredentials", False), tuple(groups))

    def _group(self, origin: str) -> OriginGroup | None:
        for group in self.groups:
            if origin in group.origins or "*" in group.origins:
                return group
        return None

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
            if group is not None and group.headers and any(h not in group.headers for h in asked):
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
        return None
