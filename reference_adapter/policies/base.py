"""The common interface of a policy implementation, its configuration errors, and the small
readers every policy uses to parse its ``configuration`` JSON with clear messages."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from reference_adapter.contracts import Contract
from reference_adapter.jwks import JwksRegistry
from reference_adapter.model import CheckInput, Decision, Denial
from reference_adapter.windows import InMemoryWindows, WindowCounters


class PolicyConfigError(ValueError):
    """A policy's configuration cannot be enforced. The message names the field, the value and
    the fix; the engine keeps the API at 503 until the policy is fixed or removed."""


class Policy(Protocol):
    """One applied policy, configured. ``check`` returns ``None`` to pass the request on (after
    adding mutations or the client id to ``decision``) or a `Denial` to refuse it.

    ``uses_contracts``: the gatekeeper waits for the API's contracts before admitting traffic.
    ``is_async``: the policy needs I/O (LDAP, Redis): it also has ``check_async`` (see
    `AsyncPolicy`), which the live adapter awaits through `DecisionEngine.decide_async`."""

    asset_id: ClassVar[str]
    uses_contracts: bool
    is_async: bool

    def check(
        self,
        request: CheckInput,
        now: float,
        decision: Decision,
        contracts: Mapping[str, Contract],
    ) -> Denial | None: ...


class AsyncPolicy(Policy, Protocol):
    """A policy that needs I/O to decide."""

    async def check_async(
        self,
        request: CheckInput,
        now: float,
        decision: Decision,
        contracts: Mapping[str, Contract],
    ) -> Denial | None: ...


@dataclass(slots=True)
class TimeBase:
    """Converts the engine's ``now`` to epoch seconds: ``wall = now + epoch_offset`` (for JWT
    exp/nbf). The live adapter sets the offset from its clock; virtual time picks its own."""

    epoch_offset: float = 0.0


@dataclass(frozen=True, slots=True)
class PolicyContext:
    """What a policy factory gets besides its configuration: where it is applied, the
    counters shared by every replica (for ``clusterizable`` rate limits), the JWKS registry
    and the time base. The engine passes its own; the defaults suit tests."""

    api_id: str = ""
    policy_id: int = 0
    shared_windows: WindowCounters = field(default_factory=InMemoryWindows)
    jwks: JwksRegistry = field(default_factory=JwksRegistry)
    time_base: TimeBase = field(default_factory=TimeBase)


class ConfigReader:
    """Typed access to a policy ``configuration`` mapping; errors name the policy and field."""

    def __init__(self, asset_id: str, configuration: Mapping[str, Any] | None) -> None:
        if configuration is None:
            configuration = {}
        if not isinstance(configuration, Mapping):
            raise PolicyConfigError(
                f"{asset_id}: configuration must be a JSON object, got {configuration!r}"
            )
        self.asset_id = asset_id
        self.data = configuration

    def error(self, key: str, value: object, expected: str) -> PolicyConfigError:
        return PolicyConfigError(
            f"{self.asset_id}: {key}={value!r} is invalid: expected {expected}"
        )

    def has(self, key: str) -> bool:
        return self.data.get(key) not in (None, "")

    def string(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key, default)
        if value is None or value == "":
            if default is not None:
                return default
            raise PolicyConfigError(f"{self.asset_id}: {key} is required (a non-empty string)")
        if not isinstance(value, str):
            raise self.error(key, value, "a string")
        return value

    def optional_string(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self.error(key, value, "a string")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise self.error(key, value, "true or false")

    def integer(self, key: str, default: int | None = None, minimum: int = 0) -> int:
        value = self.data.get(key, default)
        if value is None:
            raise PolicyConfigError(f"{self.asset_id}: {key} is required (an integer >= {minimum})")
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.error(key, value, f"an integer >= {minimum}")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.data.get(key, default)
        if value is None:
            return default
        if value not in choices:
            raise self.error(key, value, "one of " + ", ".join(repr(c) for c in choices))
        return str(value)

    def list_of(self, key: str, default: list[Any] | None = None) -> list[Any]:
        value = self.data.get(key, default)
        if value is None:
            if default is not None:
                return default
            raise PolicyConfigError(f"{self.asset_id}: {key} is required (a list)")
        if not isinstance(value, list):
            raise self.error(key, value, "a list")
        return value


_HEADER_EXPRESSIONS = (
    re.compile(r"""^#\[\s*attributes\.headers\s*\[\s*'([^']+)'\s*\]\s*\]$"""),
    re.compile(r"""^#\[\s*attributes\.headers\s*\[\s*"([^"]+)"\s*\]\s*\]$"""),
    re.compile(r"""^#\[\s*attributes\.headers\.([A-Za-z0-9_\-]+)\s*\]$"""),
    re.compile(r"""^([A-Za-z0-9_\-]+)$"""),
)


def header_from_expression(reader: ConfigReader, key: str, expression: str) -> str:
    """The (lowercased) header name a credential expression reads. ASM only reads credentials
    from headers, so ``#[attributes.headers['name']]`` (or a bare header name) is accepted."""
    for pattern in _HEADER_EXPRESSIONS:
        match = pattern.match(expression.strip())
        if match:
            return match.group(1).lower()
    raise reader.error(
        key,
        expression,
        "a header expression like #[attributes.headers['client_id']] "
        "(ASM reads credentials from headers only)",
    )
