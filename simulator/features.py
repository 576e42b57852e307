"""Optional ext_authz/HCM features as config objects with Envoy's field names: dynamic metadata
from headers, the metadata matcher, header mutation rules, retry policy, local reply mapping.
Each knows its Envoy JSON (`to_envoy`) and its simulated behaviour.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from simulator.downstream import Verdict
from simulator.settings import StringMatcher

DynamicMetadata = dict[str, dict[str, Any]]  # namespace -> struct


@dataclass(frozen=True)
class HeaderToMetadata:
    """One `header_to_metadata` request rule (a filter Envoy runs before ext_authz): when the
    request carries `header`, its value becomes dynamic metadata `metadata_namespace`/`key`."""

    header: str
    metadata_namespace: str
    key: str

    def __post_init__(self) -> None:
        if not (self.header and self.metadata_namespace and self.key):
            raise ValueError(
                f"HeaderToMetadata({self.header!r}, {self.metadata_namespace!r}, {self.key!r}) "
                "is not valid: header, metadata_namespace and key must all be non-empty"
            )

    def to_envoy(self) -> dict[str, Any]:
        return {
            "header": self.header,
            "on_header_present": {
                "metadata_namespace": self.metadata_namespace,
                "key": self.key,
                "type": "STRING",
            },
            "remove": False,
        }


def dynamic_metadata(
    rules: tuple[HeaderToMetadata, ...], headers: list[tuple[str, str]]
) -> DynamicMetadata:
    """The request's dynamic metadata after the header_to_metadata filter (first value wins)."""
    out: DynamicMetadata = {}
    for rule in rules:
        name = rule.header.lower()
        value = next((v for k, v in headers if k == name), None)
        if value:  # Envoy skips empty values
            out.setdefault(rule.metadata_namespace, {})[rule.key] = value
    return out


_DYNAMIC_METADATA = re.compile(r"%DYNAMIC_METADATA\(([^:)]+)((?::[^:)]+)*)\)%")


def format_dynamic_metadata(template: str, metadata: DynamicMetadata) -> str:
    """Envoy's `%DYNAMIC_METADATA(namespace:key:...)%` in a header value: strings as they
    are, other values as JSON, missing ones as empty."""

    def sub(match: re.Match[str]) -> str:
        value: Any = metadata.get(match.group(1))
        for key in match.group(2).split(":")[1:]:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return json.dumps(value, separators=(",", ":"))

    return _DYNAMIC_METADATA.sub(sub, template)


@dataclass(frozen=True)
class MetadataMatcher:
    """`envoy.type.matcher.v3.MetadataMatcher` over dynamic metadata: the value at
    `filter`/`path` must match `string_match` (or merely exist with `present_match=True`)."""

    filter: str
    path: tuple[str, ...]
    string_match: StringMatcher | None = None
    present_match: bool = False
    invert: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", tuple(self.path))
        if not self.filter or not self.path:
            raise ValueError(
                f"MetadataMatcher(filter={self.filter!r}, path={self.path!r}) is not valid: give "
                "a metadata namespace and at least one key, e.g. ('lab.dyn', ('tenant',))"
            )
        if (self.string_match is None) == (not self.present_match):
            raise ValueError(
                "MetadataMatcher needs exactly one of string_match or present_match=True"
            )

    def matches(self, metadata: DynamicMetadata) -> bool:
        value: Any = metadata.get(self.filter)
        for key in self.path:
            value = value.get(key) if isinstance(value, dict) else None
        if self.present_match:
            hit = value is not None
        else:
            assert self.string_match is not None
            hit = isinstance(value, str) and self.string_match.matches(value)
        return hit != self.invert

    def to_envoy(self) -> dict[str, Any]:
        value: dict[str, Any] = (
            {"present_match": True}
            if self.present_match
            else {"string_match": self.string_match.to_envoy() if self.string_match else {}}
        )
        out: dict[str, Any] = {
            "filter": self.filter,
            "path": [{"key": k} for k in self.path],
            "value": value,
        }
        if self.invert:
            out["invert"] = True
        return out


CheckOperation = Literal["set", "append", "remove"]
CheckResult = Literal["ok", "ignore", "fail"]
_ROUTING_HEADERS = frozenset({"host", ":authority", ":method", ":scheme"})


@dataclass(frozen=True)
class HeaderMutationRules:
    """`decoder_header_mutation_rules`: which request headers an OK answer may touch
    (Envoy's `mutation_rules::Checker`; by default host, :method, :scheme and x-envoy-* are
    protected once rules are configured)."""

    allow_all_routing: bool = False
    allow_envoy: bool = False
    disallow_system: bool = False
    disallow_all: bool = False
    allow_expression: str | None = None
    disallow_expression: str | None = None
    disallow_is_error: bool = False

    def __post_init__(self) -> None:
        for name in ("allow_expression", "disallow_expression"):
            pattern = getattr(self, name)
            if pattern is not None:
                try:
                    re.compile(pattern)
                except re.error as err:
                    raise ValueError(
                        f"HeaderMutationRules.{name}={pattern!r} is not valid: {err}; "
                        "give a RE2-compatible regular expression such as 'x-protected-.*'"
                    ) from None

    def _allowed(self, op: CheckOperation, name: str) -> bool:
        if op == "remove" and (name.startswith(":") or name == "host"):
            return False
        if self.disallow_expression is not None and re.fullmatch(self.disallow_expression, name):
            return False
        if self.allow_expression is not None and re.fullmatch(self.allow_expression, name):
            return True
        if self.disallow_all:
            return False
        if not self.allow_all_routing and name in _ROUTING_HEADERS:
            return False
        if name.startswith(":") and (op == "append" or self.disallow_system):
            return False
        return self.allow_envoy or not name.startswith("x-envoy")

    def check(self, op: CheckOperation, name: str, value: str = "") -> CheckResult:
        name = name.lower()
        valid = op == "remove" or name.startswith(":") or not re.search(r"[\x00\r\n]", value)
        if self._allowed(op, name) and valid:
            return "ok"
        return "fail" if self.disallow_is_error else "ignore"

    def to_envoy(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in (
            "allow_all_routing",
            "allow_envoy",
            "disallow_system",
            "disallow_all",
            "disallow_is_error",
        ):
            if getattr(self, name):
                out[name] = True
        for name in ("allow_expression", "disallow_expression"):
            pattern = getattr(self, name)
            if pattern is not None:
                out[name] = {"regex": pattern}
        return out


def apply_mutation_rules(rules: HeaderMutationRules, verdict: Verdict) -> bool:
    """Drop the OK verdict's request-header mutations the rules ignore; False when one is
    rejected (`disallow_is_error`), which Envoy answers like an invalid mutation (500)."""
    lists: list[tuple[CheckOperation, list[tuple[str, str]]]] = [
        ("set", verdict.upstream_set),
        ("set", verdict.upstream_add),
        ("append", verdict.upstream_append),
    ]
    for op, items in lists:
        results = [rules.check(op, k, v) for k, v in items]
        if "fail" in results:
            return False
        items[:] = [kv for kv, r in zip(items, results, strict=True) if r == "ok"]
    removals = [rules.check("remove", k) for k in verdict.upstream_remove]
    if "fail" in removals:
        return False
    verdict.upstream_remove = [
        k for k, r in zip(verdict.upstream_remove, removals, strict=True) if r == "ok"
    ]
    return True


GRPC_RETRY_ON = {
    "cancelled": 1,
    "deadline-exceeded": 4,
    "resource-exhausted": 8,
    "internal": 13,
    "unavailable": 14,
}


@dataclass(frozen=True)
class RetryPolicy:
    """`envoy.config.core.v3.RetryPolicy` on the authz service: `retry_on` conditions
    (comma-separated: `5xx`, `gateway-error`, `reset`, `connect-failure`, or gRPC status names
    such as `unavailable`), `num_retries`, and the jittered back-off base."""

    retry_on: str
    num_retries: int = 1
    base_interval_ms: int = 25

    def __post_init__(self) -> None:
        if self.num_retries < 0:
            raise ValueError(
                f"RetryPolicy.num_retries={self.num_retries!r} is not valid: use 0 or more"
            )
        if self.base_interval_ms <= 0:
            raise ValueError(
                f"RetryPolicy.base_interval_ms={self.base_interval_ms!r} is not valid: "
                "use a positive number of milliseconds, e.g. 25"
            )

    @property
    def per_try_timeout_ms(self) -> int:
        """Envoy converts the core policy with per_try_timeout = the back-off max interval
        (10 x base here), so each attempt is cut there (observed on Envoy 1.40)."""
        return self.base_interval_ms * 10

    @property
    def conditions(self) -> frozenset[str]:
        return frozenset(c.strip() for c in self.retry_on.split(",") if c.strip())

    def retries_grpc(self, code: int) -> bool:
        """Whether a failed gRPC call with this status is retried: only the gRPC conditions
        (`unavailable`, ...); `5xx` looks at the HTTP status, 200 on a gRPC error."""
        return any(GRPC_RETRY_ON.get(c) == code for c in self.conditions)

    def retries_http(self, status: int | None) -> bool:
        """Whether an HTTP answer (None = connection failure/reset) is retried."""
        conds = self.conditions
        if status is None:
            return bool(conds & {"5xx", "gateway-error", "reset", "connect-failure"})
        if "5xx" in conds and status >= 500:
            return True
        return "gateway-error" in conds and status in (502, 503, 504)

    def to_envoy(self) -> dict[str, Any]:
        ms = self.base_interval_ms
        # max_interval is written out: Envoy also uses it as the per-try timeout.
        return {
            "retry_on": self.retry_on,
            "num_retries": self.num_retries,
            "retry_back_off": {
                "base_interval": f"{ms / 1000:.3f}s",
                "max_interval": f"{ms * 10 / 1000:.3f}s",
            },
        }


@dataclass(frozen=True)
class LocalReplyMapper:
    """One `local_reply_config.mappers` entry: local replies whose status equals
    `status_code_filter` get `status_code` and/or `body` instead."""

    status_code_filter: int
    status_code: int | None = None
    body: str | None = None

    def to_envoy(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "filter": {
                "status_code_filter": {
                    "comparison": {
                        "op": "EQ",
                        "value": {
                            "default_value": self.status_code_filter,
                            "runtime_key": f"asmkit.local_reply.{self.status_code_filter}",
                        },
                    }
                }
            }
        }
        if self.status_code is not None:
            out["status_code"] = self.status_code
        if self.body is not None:
            out["body"] = {"inline_string": self.body}
        return out


@dataclass(frozen=True)
class LocalReplyConfig:
    """The connection manager's `local_reply_config`: `mappers`, then `body_format` as a text
    format (`text_format`) or a JSON object (`json_format`). Supported commands:
    `%RESPONSE_CODE%`, `%LOCAL_REPLY_BODY%`, `%REQ(header)%`."""

    mappers: tuple[LocalReplyMapper, ...] = ()
    text_format: str | None = None
    json_format: Mapping[str, str] | None = field(default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "mappers", tuple(self.mappers))
        if self.text_format is not None and self.json_format is not None:
            raise ValueError(
                "LocalReplyConfig: set text_format or json_format, not both (Envoy's "
                "SubstitutionFormatString holds one)"
            )
        if self.json_format is not None:
            object.__setattr__(self, "json_format", dict(self.json_format))

    def to_envoy(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.mappers:
            out["mappers"] = [mp.to_envoy() for mp in self.mappers]
        if self.text_format is not None:
            out["body_format"] = {"text_format_source": {"inline_string": self.text_format}}
        elif self.json_format is not None:
            out["body_format"] = {"json_format": dict(self.json_format)}
        return out
