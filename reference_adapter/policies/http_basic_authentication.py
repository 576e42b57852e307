"""http-basic-authentication (Basic Auth: Simple): one ``username``/``password`` pair from the
configuration; anything else is 401 with ``WWW-Authenticate: Basic realm="mule-realm"``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from reference_adapter.contracts import Contract
from reference_adapter.model import CheckInput, Decision, Denial
from reference_adapter.policies.base import ConfigReader, PolicyContext
from reference_adapter.policies.client_id_enforcement import BASIC_CHALLENGE
from reference_adapter.policies.credentials import parse_basic, secrets_match


class HttpBasicAuthentication:
    """The policy object; see the module docstring."""

    asset_id: ClassVar[str] = "http-basic-authentication"
    uses_contracts: bool = False
    is_async: bool = False

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self._password = password
        self._missing = Denial.of(401, "missing basic credentials", BASIC_CHALLENGE)
        self._invalid = Denial.of(401, "invalid basic credentials", BASIC_CHALLENGE)

    @classmethod
    def from_configuration(
        cls, configuration: Mapping[str, Any] | None, context: PolicyContext | None = None
    ) -> HttpBasicAuthentication:
        reader = ConfigReader(cls.asset_id, configuration)
        return cls(reader.string("username"), reader.string("password"))

    def check(
        self,
        request: CheckInput,
        now: float,
        decision: Decision,
        contracts: Mapping[str, Contract],
    ) -> Denial | None:
        credentials = parse_basic(request.headers.get("authorization"))
        if credentials is None:
            return self._missing
        user, password = credentials
        if user != self.username or not secrets_match(password, self._password):
            return self._invalid
        return None
