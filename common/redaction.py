"""Redaction of credentials in everything the kit publishes (reports, console, logs): the
secrets it knows by value, values under credential-like names (headers, query parameters,
configuration keys), auth-scheme values and JWTs. A placeholder is a keyed hash of the value,
``<redacted:1a2b3c4d>``: within one run equal values get equal placeholders and different
values different ones, so a diff still shows whether an expected secret matched; across runs
(a new key) nothing can be matched back to a value."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import urllib.parse
from collections.abc import Iterable
from pathlib import Path
from typing import Any

MIN_SECRET = 8
"""Shorter known values are not replaced wherever they appear (too many false hits); they are
still redacted under credential-like names."""

_NAMES = re.compile(
    r"authorization|cookie|secret|passw|pwd|token|api[-_]?key|apikey|credential|jwt|"
    r"session|signature|private[-_]?key|[a-z]key$",
    re.IGNORECASE,
)
_NOT_NAMES = re.compile(r"expression$|^key$|^keys$|_?id$", re.IGNORECASE)
_QUERY = re.compile(r"([?&;])([^=&#\s?;]+)=([^&#\s'\";]*)")
_SCHEME = re.compile(r"\b(Basic|Bearer|Digest|Negotiate|Token)(\s+)([A-Za-z0-9._~+/=-]{4,})")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")
_PAIR = re.compile(
    r"""(?<![\w./-])(?P<q>['"]?)(?P<name>[A-Za-z0-9_-]+)(?P=q)(?P<sep>\s*[:=]\s*)"""
    r"""(?P<v>'[^'\n]*(?:'|$)|"[^"\n]*(?:"|$)|[^\s,;&}\]'"]+)"""
)


def is_credential_name(name: object) -> bool:
    """Whether a header, query parameter or configuration key names a credential."""
    if not isinstance(name, str):
        return False
    text = name.strip().lower()
    return bool(_NAMES.search(text)) and not _NOT_NAMES.search(text)


class Redactor:
    """Replaces credentials with keyed-hash placeholders. ``key``: one per run (share it with
    every process of the run); ``secrets``: values known to be secret wherever they appear."""

    def __init__(self, key: bytes | None = None, secrets: Iterable[str] = ()) -> None:
        self.key = key if key is not None else os.urandom(16)
        self._known: dict[str, str] = {}
        self.add(secrets)

    def with_secrets(self, secrets: Iterable[str]) -> Redactor:
        """A redactor with the same key and these secrets as well."""
        other = Redactor(self.key, self._known)
        other.add(secrets)
        return other

    def add(self, secrets: Iterable[str]) -> None:
        for secret in secrets:
            if not isinstance(secret, str) or len(secret) < MIN_SECRET:
                continue
            mark = self.placeholder(secret)
            for form in _forms(secret):
                self._known.setdefault(form, mark)
        longest_first = sorted(self._known, key=len, reverse=True)
        self._pattern = (
            re.compile("|".join(re.escape(s) for s in longest_first)) if longest_first else None
        )

    def placeholder(self, value: str) -> str:
        digest = hmac.new(self.key, value.encode("utf-8", "replace"), hashlib.sha256)
        return f"<redacted:{digest.hexdigest()[:8]}>"

    def text(self, value: str) -> str:
        """``value`` with every known secret, secret-named query parameter or ``name: value``
        pair, auth-scheme value and JWT replaced."""
        if self._pattern is not None:
            value = self._pattern.sub(lambda m: self._known[m.group(0)], value)
        value = _SCHEME.sub(lambda m: m.group(1) + m.group(2) + self._mark(m.group(3)), value)
        value = _JWT.sub(lambda m: self._mark(m.group(0)), value)
        value = _QUERY.sub(self._query, value)
        return _PAIR.sub(self._pair, value)

    def data(self, value: Any, name: object = None) -> Any:
        """``value`` (nested dicts, lists, tuples, strings) redacted; ``name`` is the key it is
        stored under: everything under a credential-like name is replaced whole."""
        if is_credential_name(name) and isinstance(value, str | int | float) and value != "":
            text = str(value)
            if not text.startswith("#["):  # a Mule expression names where a secret is, not it
                return self._mark_value(text)
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.data(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(v, name) for v in value]
        if isinstance(value, tuple):
            return tuple(self.data(v, name) for v in value)
        return value

    def file(self, path: Path, limit: int = 64 * 1024 * 1024) -> None:
        """Redact a text file in place, line by line (at most ``limit`` bytes are kept)."""
        temporary = path.with_name(path.name + ".redacting")
        written = 0
        with (
            open(path, encoding="utf-8", errors="replace") as source,
            open(temporary, "w", encoding="utf-8") as target,
        ):
            for line in source:
                if written > limit:
                    target.write(f"... (cut at {limit // (1024 * 1024)} MiB)\n")
                    break
                redacted = self.text(line)
                written += len(redacted)
                target.write(redacted)
        os.replace(temporary, path)

    def _mark_value(self, value: str) -> str:
        """A credential value: its auth scheme (``Basic``, ``Bearer``) stays readable."""
        scheme, space, rest = value.partition(" ")
        if space and scheme.lower() in _SCHEMES and rest.strip():
            return f"{scheme} {self._mark(rest.strip())}"
        return self._mark(value)

    def _mark(self, value: str) -> str:
        if value.startswith("<redacted:"):
            return value
        return self._known.get(value) or self.placeholder(value)

    def _query(self, m: re.Match[str]) -> str:
        name = urllib.parse.unquote_plus(m.group(2))
        if not is_credential_name(name) or not m.group(3):
            return m.group(0)
        return f"{m.group(1)}{m.group(2)}={self._mark(m.group(3))}"

    def _pair(self, m: re.Match[str]) -> str:
        if not is_credential_name(m.group("name")):
            return m.group(0)
        raw = m.group("v")
        quote = raw[0] if raw[:1] in ("'", '"') else ""
        closed = bool(quote) and len(raw) > 1 and raw.endswith(quote)
        inner = raw[1 : len(raw) - closed] if quote else raw
        if (
            not inner
            or "<redacted:" in inner
            or inner.startswith("#[")
            or inner.lower() in _SCHEMES
        ):
            return m.group(0)
        marked = self._mark_value(inner)
        end = quote if closed else ""
        return f"{m.group('q')}{m.group('name')}{m.group('q')}{m.group('sep')}{quote}{marked}{end}"


_SCHEMES = {"basic", "bearer", "digest", "negotiate", "token", "none", "null"}


def _forms(secret: str) -> set[str]:
    """The ways a secret shows up in text: as is and URL-encoded (basic-auth values are
    redacted whole by their scheme)."""
    forms = {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}
    return {f for f in forms if len(f) >= MIN_SECRET}
