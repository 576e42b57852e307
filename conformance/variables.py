"""``${...}`` variables in scenario steps: references to seeded objects (``applications.mobile.
client_id``, ``apis.orders.id``, ``policies.orders/cid.id``), captures from earlier steps
(``captures.name``), seeded fake data (``faker.uuid4``) and tokens the scenario's identity
provider signs when they are used (``jwt.<name>``)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

_VARIABLE = re.compile(r"\$\{([^}]+)\}")
M = TypeVar("M", bound=BaseModel)


class VariableError(KeyError):
    """A ``${...}`` reference names nothing known."""

    def __str__(self) -> str:
        return str(self.args[0])


class Variables:
    """The values a scenario's steps may reference, as a nested mapping."""

    def __init__(
        self,
        values: dict[str, Any],
        faker: Any | None = None,
        tokens: Callable[[str], str] | None = None,
    ) -> None:
        self.values = values
        self._faker = faker
        self.tokens = tokens
        """Makes the token ``${jwt.<name>}`` names, afresh at each use (None: no identity
        provider)."""

    def set_capture(self, name: str, value: Any) -> None:
        self.values.setdefault("captures", {})[name] = value

    def resolve(self, reference: str) -> Any:
        """The value of ``reference`` (a dotted path; keys may contain ``/``)."""
        head, _, rest = reference.strip().partition(".")
        if head == "faker":
            return self._fake(rest)
        if head == "jwt":
            if self.tokens is None:
                raise VariableError(
                    f"unknown variable ${{{reference}}}: the scenario has no identity_provider"
                )
            return self.tokens(rest)
        node: Any = self.values
        walked: list[str] = []
        for part in [head, *self._split(rest)]:
            if not isinstance(node, dict) or part not in node:
                known = sorted(node) if isinstance(node, dict) else []
                where = ".".join(walked) or "the top level"
                raise VariableError(
                    f"unknown variable ${{{reference}}}: no {part!r} under {where}"
                    + (f"; known: {', '.join(map(str, known))}" if known else "")
                )
            node = node[part]
            walked.append(part)
        return node

    def substitute(self, value: Any) -> Any:
        """``value`` with every ``${...}`` filled in (recursively through lists and dicts)."""
        if isinstance(value, str):
            whole = _VARIABLE.fullmatch(value)
            if whole:
                return self.resolve(whole.group(1))
            return _VARIABLE.sub(lambda m: str(self.resolve(m.group(1))), value)
        if isinstance(value, list):
            return [self.substitute(v) for v in value]
        if isinstance(value, dict):
            return {k: self.substitute(v) for k, v in value.items()}
        return value

    def substitute_model(self, model: M) -> M:
        """A copy of ``model`` with every ``${...}`` filled in, validated again."""
        data = model.model_dump(mode="json", by_alias=True, exclude_unset=True)
        return type(model).model_validate(self.substitute(data))

    @staticmethod
    def _split(rest: str) -> list[str]:
        return [p for p in rest.split(".") if p] if rest else []

    def _fake(self, provider: str) -> Any:
        if provider not in faker_providers():  # never Faker's own methods (seed_instance, ...)
            raise VariableError(
                f"unknown variable ${{faker.{provider}}}: Faker has no {provider!r}"
            )
        if self._faker is None:
            from faker import Faker

            self._faker = Faker()
            self._faker.seed_instance(self.values.get("run", {}).get("seed", 0))
        try:
            return getattr(self._faker, provider)()
        except Exception as exc:  # a provider that needs arguments
            raise VariableError(
                f"${{faker.{provider}}} cannot be used without arguments: {exc}"
            ) from None


@functools.cache
def faker_providers() -> frozenset[str]:
    """The names ``${faker.<provider>}`` may use: the public methods of Faker's providers
    (not the generator's own, such as ``seed_instance``)."""
    from faker import Faker

    names = set()
    for provider in Faker().get_providers():
        for name in dir(provider):
            if not name.startswith("_") and callable(getattr(provider, name, None)):
                names.add(name)
    return frozenset(names)


def references(value: Any) -> list[str]:
    """Every ``${...}`` reference inside ``value`` (for static validation)."""
    found: list[str] = []
    if isinstance(value, str):
        found.extend(m.group(1) for m in _VARIABLE.finditer(value))
    elif isinstance(value, list):
        for v in value:
            found.extend(references(v))
    elif isinstance(value, dict):
        for v in value.values():
            found.extend(references(v))
    return found
