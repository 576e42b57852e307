"""json-threat-protection (extended profile): limits on JSON request bodies (container depth,
string length, entry-name length, entries per object, elements per array; -1 or absent means
unlimited). Needs the body: configure Envoy's ext_authz with ``with_request_body`` (and a
``max_request_bytes`` large enough, without ``allow_partial_message``). 400 on a violation or
invalid JSON; 413 when Envoy sent only part of the body; 503 when a body was announced but not
sent (``with_request_body`` is off)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from reference_adapter.contracts import Contract
from reference_adapter.model import CheckInput, Decision, Denial
from reference_adapter.policies.base import ConfigReader, PolicyContext

UNLIMITED = -1


@dataclass(frozen=True, slots=True)
class JsonLimits:
    depth: int
    string: int
    name: int
    entries: int
    elements: int

    @classmethod
    def parse(cls, configuration: Mapping[str, Any] | None) -> JsonLimits:
        reader = ConfigReader(JsonThreatProtection.asset_id, configuration)

        def limit(key: str) -> int:
            return reader.integer(key, UNLIMITED, minimum=UNLIMITED)

        return cls(
            depth=limit("maxContainerDepth"),
            string=limit("maxStringValueLength"),
            name=limit("maxObjectEntryNameLength"),
            entries=limit("maxObjectEntryCount"),
            elements=limit("maxArrayElementCount"),
        )

    def violation(self, value: Any, depth: int = 0) -> str | None:
        """The first limit the parsed document breaks, or None."""
        if isinstance(value, dict | list):
            depth += 1
            if self.depth != UNLIMITED and depth > self.depth:
                return f"container depth exceeds {self.depth}"
        if isinstance(value, dict):
            if self.entries != UNLIMITED and len(value) > self.entries:
                return f"object entry count exceeds {self.entries}"
            for key, item in value.items():
                if self.name != UNLIMITED and len(key) > self.name:
                    return f"object entry name length exceeds {self.name}"
                found = self.violation(item, depth)
                if found:
                    return found
        elif isinstance(value, list):
            if self.elements != UNLIMITED and len(value) > self.elements:
                return f"array element count exceeds {self.elements}"
            for item in value:
                found = self.violation(item, depth)
                if found:
                    return found
        elif isinstance(value, str) and self.string != UNLIMITED and len(value) > self.string:
            return f"string value length exceeds {self.string}"
        return None


class JsonThreatProtection:
    """The policy object; see the module docstring."""

    asset_id: ClassVar[str] = "json-threat-protection"
    uses_contracts: bool = False
    is_async: bool = False

    def __init__(self, limits: JsonLimits) -> None:
        self.limits = limits
        self._no_body = Denial.of(
            503, "json-threat-protection needs the request body: enable with_request_body"
        )
        self._partial = Denial.of(413, "request body too large to inspect")

    @classmethod
    def from_configuration(
        cls, configuration: Mapping[str, Any] | None, context: PolicyContext | None = None
    ) -> JsonThreatProtection:
        return cls(JsonLimits.parse(configuration))

    def check(
        self,
        request: CheckInput,
        now: float,
        decision: Decision,
        contracts: Mapping[str, Contract],
    ) -> Denial | None:
        content_type = request.headers.get("content-type", "")
        if "json" not in content_type.lower():
            return None
        body = request.body
        if body is None:
            return self._no_body if _announces_body(request) else None
        if request.headers.get("x-envoy-auth-partial-body") == "true":
            return self._partial
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return Denial.of(400, "invalid JSON body")
        try:
            problem = self.limits.violation(document)
        except RecursionError:
            problem = "container depth too large"
        return Denial.of(400, f"JSON threat: {problem}") if problem else None


def _announces_body(request: CheckInput) -> bool:
    """Whether the client sent a body Envoy did not forward. Envoy leaves ``size`` out when it
    buffers nothing, so the request's own headers are the evidence (never fail open)."""
    if request.size > 0:
        return True
    headers = request.headers
    length = headers.get("content-length", "").strip()
    if length.isdigit() and int(length) > 0:
        return True
    return "chunked" in headers.get("transfer-encoding", "").lower()
