"""Reading client credentials from a request (custom headers or HTTP Basic) and checking them
against the API's approved contracts: shared by client-id-enforcement and the SLA policy."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping

from reference_adapter.contracts import Contract


def parse_basic(authorization: str | None) -> tuple[str, str] | None:
    """``Authorization: Basic base64(user:password)`` as ``(user, password)``, else None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep or not user:
        return None
    return user, password


def secrets_match(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison; a contract without a known secret never matches."""
    if given is None or expected is None:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def find_contract(
    contracts: Mapping[str, Contract], client_id: str, secret: str | None, check_secret: bool
) -> Contract | None:
    """The approved contract for these credentials, or None."""
    contract = contracts.get(client_id)
    if contract is None:
        return None
    if check_secret and not secrets_match(secret, contract.client_secret):
        return None
    return contract
