"""client-id-enforcement: credentials from the ``client_id``/``client_secret`` headers, custom
headers, or HTTP Basic; only APPROVED contracts of the API pass. 401 otherwise, with
``WWW-Authenticate: Client-ID-Enforcement`` (header modes) or ``Basic realm="mule-realm"``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from reference_adapter.contracts import Contract
from reference_adapter.model import CheckInput, Decision, Denial
from reference_adapter.policies.base import ConfigReader, PolicyContext, header_from_expression
from reference_adapter.policies.credentials import find_contract, parse_basic

BASIC_MODE = "httpBasicAuthenticationHeader"
HEADER_MODE = "customExpression"
CLIENT_ID_CHALLENGE = ("www-authenticate", "Client-ID-Enforcement")
BASIC_CHALLENGE = ("www-authenticate", 'Basic realm="mule-realm"')


@dataclass(frozen=True, slots=True)
class ClientIdConfig:
    """Parsed configuration. ``secret_header`` None means the secret is optional (not read)."""

    basic: bool
    id_header: str
    secret_header: str | None

    @classmethod
    def parse(cls, configuration: Mapping[str, Any] | None) -> ClientIdConfig:
        reader = ConfigReader(ClientIdEnforcement.asset_id, configuration)
        mode = reader.choice(
            "credentialsOriginHasHttpBasicAuthenticationHeader",
            (HEADER_MODE, BASIC_MODE),
            HEADER_MODE,
        )
        if mode == BASIC_MODE:
            return cls(basic=True, id_header="authorization", secret_header="authorization")
        id_expr = reader.string("clientIdExpression", "#[attributes.headers['client_id']]")
        secret_expr = reader.optional_string("clientSecretExpression")
        return cls(
            basic=False,
            id_header=header_from_expression(reader, "clientIdExpression", id_expr),
            secret_header=(
                header_from_expression(reader, "clientSecretExpression", secret_expr)
                if secret_expr is not None
                else None
            ),
        )


class ClientIdEnforcement:
    """The policy object; see the module docstring."""

    asset_id: ClassVar[str] = "client-id-enforcement"
    uses_contracts: bool = True
    is_async: bool = False

    def __init__(self, config: ClientIdConfig) -> None:
        self.config = config
        challenge = BASIC_CHALLENGE if config.basic else CLIENT_ID_CHALLENGE
        self._missing = Denial.of(401, "missing client credentials", challenge)
        self._invalid = Denial.of(401, "invalid client credentials", challenge)

    @classmethod
    def from_configuration(
        cls, configuration: Mapping[str, Any] | None, context: PolicyContext | None = None
    ) -> ClientIdEnforcement:
        return cls(ClientIdConfig.parse(configuration))

    def check(
        self,
        request: CheckInput,
        now: float,
        decision: Decision,
        contracts: Mapping[str, Contract],
    ) -> Denial | None:
        config = self.config
        headers = request.headers
        if config.basic:
            credentials = parse_basic(headers.get("authorization"))
            if credentials is None:
                return self._missing
            client_id, secret = credentials
            contract = find_contract(contracts, client_id, secret, True)
        else:
            client_id_value = headers.get(config.id_header)
            if not client_id_value:
                return self._missing
            client_id = client_id_value
            if config.secret_header is None:
                contract = contracts.get(client_id)
            else:
                contract = find_contract(
                    contracts, client_id, headers.get(config.secret_header), True
                )
        if contract is None:
            return self._invalid
        decision.client_id = client_id
        decision.client_name = contract.client_name
        return None
