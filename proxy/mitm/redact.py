"""Redaction of recorded platform traffic: secrets and tokens become ``<redacted>``; client ids,
organization ids and environment ids become pseudonyms, the same one for the same value
everywhere in a cassette (a keyed hash, so only someone who already holds an id can match it)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

REDACTED = "<redacted>"
ALGORITHM = "hmac-sha256-shape/1"
"""How pseudonyms are made (recorded in the cassette; ``pseudonym`` is the reference)."""

SECRET_KEYS = frozenset(
    k.lower()
    for k in (
        "client_secret",
        "clientSecret",
        "password",
        "secret",
        "access_token",
        "accessToken",
        "refresh_token",
        "refreshToken",
        "id_token",
        "token",
        "assertion",
        "private_key",
        "privateKey",
        "api_key",
        "apiKey",
    )
)
"""JSON keys, form fields and query parameters whose values are secrets."""
SECRET_HEADER_WORDS = ("authorization", "cookie", "token", "secret", "password", "api-key")
"""A header whose (lowercased) name contains one of these carries a secret."""
CLIENT_ID_KEYS = frozenset(k.lower() for k in ("client_id", "clientId"))
ORG_ID_KEYS = frozenset(
    k.lower()
    for k in ("orgId", "organizationId", "organization_id", "masterOrganizationId", "org_id")
)
ENV_ID_KEYS = frozenset(k.lower() for k in ("envId", "environmentId", "environment_id", "env_id"))
_PATH_IDS = re.compile(r"/(organizations|environments)/([^/?#]+)")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
MAX_JSON_DEPTH = 64


def pseudonym(salt: str, value: str) -> str:
    """A stable stand-in for ``value`` with the same shape: a UUID stays a UUID, hex stays hex of
    the same length, anything else becomes ``id-`` plus 16 hex digits."""
    digest = hmac.new(salt.encode(), value.encode(), hashlib.sha256).hexdigest()
    if _UUID.match(value):
        h = digest[:32]
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"
    if _HEX.match(value) and len(value) <= len(digest):
        return digest[: len(value)]
    return "id-" + digest[:16]


def secret_header(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_HEADER_WORDS)


class Redactor:
    """Learns identifiers and secrets from traffic (``learn``), then rewrites text (``scrub``)."""

    def __init__(self, salt: str) -> None:
        self.salt = salt
        self.identifiers: dict[str, str] = {}
        self.secrets: set[str] = set()
        self.counts = {"secrets": 0, "client_ids": 0, "org_ids": 0, "env_ids": 0}

    def _id(self, value: Any, kind: str) -> None:
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            text = str(value)
            if text not in self.identifiers and text != REDACTED:
                self.identifiers[text] = pseudonym(self.salt, text)
                self.counts[kind] += 1

    def _secret(self, value: Any) -> None:
        if isinstance(value, str) and len(value) >= 4 and value not in self.secrets:
            self.secrets.add(value)
            self.counts["secrets"] += 1

    def learn_path(self, path: str) -> None:
        for kind, value in _PATH_IDS.findall(path):
            self._id(value, "org_ids" if kind == "organizations" else "env_ids")

    def learn_pairs(self, pairs: list[tuple[str, str]]) -> None:
        for key, value in pairs:
            self._learn_key(key, value)

    def _learn_key(self, key: str, value: Any) -> None:
        lowered = key.lower()
        if lowered in SECRET_KEYS:
            self._secret(value)
        elif lowered in CLIENT_ID_KEYS:
            self._id(value, "client_ids")
        elif lowered in ORG_ID_KEYS:
            self._id(value, "org_ids")
        elif lowered in ENV_ID_KEYS:
            self._id(value, "env_ids")

    def learn_json(self, node: Any, depth: int = 0) -> None:
        if depth > MAX_JSON_DEPTH:
            return
        if isinstance(node, dict):
            for key, value in node.items():
                self._learn_key(str(key), value)
                self.learn_json(value, depth + 1)
        elif isinstance(node, list):
            for item in node:
                self.learn_json(item, depth + 1)

    def learn_body(self, text: str, content_type: str) -> None:
        if "json" in content_type or text[:1] in ("{", "["):
            try:
                self.learn_json(json.loads(text))
            except ValueError:
                return
        elif "x-www-form-urlencoded" in content_type:
            self.learn_pairs(parse_qsl(text, keep_blank_values=True))

    # ---- rewriting ----

    def scrub(self, text: str) -> str:
        """Secrets (learnt or JWT-shaped) to ``<redacted>``, identifiers to their pseudonyms."""
        if not text:
            return text
        text = _JWT.sub(REDACTED, text)
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, REDACTED)
        for value in sorted(self.identifiers, key=len, reverse=True):
            if value in text:
                text = text.replace(value, self.identifiers[value])
        return text

    def scrub_pairs(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(k, REDACTED if k.lower() in SECRET_KEYS else self.scrub(v)) for k, v in pairs]

    def scrub_headers(self, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(k, REDACTED if secret_header(k) else self.scrub(v)) for k, v in headers]

    def scrub_json(self, node: Any, depth: int = 0) -> Any:
        if depth > MAX_JSON_DEPTH:
            return REDACTED
        if isinstance(node, dict):
            return {
                self.scrub(str(k)): (
                    REDACTED if str(k).lower() in SECRET_KEYS else self.scrub_json(v, depth + 1)
                )
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [self.scrub_json(item, depth + 1) for item in node]
        if isinstance(node, str):
            return self.scrub(node)
        return node

    def scrub_body(self, text: str, content_type: str) -> str:
        if "json" in content_type or text[:1] in ("{", "["):
            try:
                return json.dumps(self.scrub_json(json.loads(text)), separators=(",", ":"))
            except ValueError:
                return self.scrub(text)
        if "x-www-form-urlencoded" in content_type:
            return urlencode(self.scrub_pairs(parse_qsl(text, keep_blank_values=True)))
        return self.scrub(text)
