"""The scenario's LDAP directory (what an OpenLDAP or Active Directory server is to a real
ldap-authentication policy; NOT an Anypoint endpoint): its base, the service account the policy
binds as, and the entries users authenticate as, with distinguished names checked and
normalized here (a small subset of RFC 4514: ``type=value`` pairs, no escapes)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_ENTRIES = 64
MAX_ATTRIBUTES = 32
MAX_VALUES = 16
MAX_VALUE_LENGTH = 1024
MAX_DN_LENGTH = 512
MAX_RDNS = 16
MIN_PASSWORD = 8
"""Passwords are redacted wherever they appear only from this length on (common.redaction)."""
DEFAULT_CLASSES = ("top", "person", "organizationalPerson", "inetOrgPerson")
"""An entry's objectClass when it names none: an inetOrgPerson and its superclasses, as a real
server answers ``(objectClass=person)`` for it."""
ATTRIBUTE_PATTERN = r"^[A-Za-z][A-Za-z0-9-]{0,63}$"
_TYPE = re.compile(ATTRIBUTE_PATTERN)
_SPECIAL = re.compile(r'[,+"\\<>;=\x00]')


class DnError(ValueError):
    """Text that is not a distinguished name of the subset the directory takes."""


def parse_dn(text: str) -> tuple[tuple[str, str], ...]:
    """The RDNs of ``text``, leaf first, as (type, value) pairs as written (trimmed); ``""``
    is the empty (root) DN. Raises `DnError` naming what is wrong."""
    if len(text) > MAX_DN_LENGTH:
        raise DnError(f"a DN of {len(text)} characters; at most {MAX_DN_LENGTH}")
    if not text.strip():
        return ()
    rdns = []
    for part in text.split(","):
        kind, equals, value = part.partition("=")
        kind, value = kind.strip(), value.strip()
        if not equals or not _TYPE.match(kind):
            raise DnError(f"{part.strip()!r} is not an attribute=value pair (e.g. uid=alice)")
        if not value or _SPECIAL.search(value) or value.startswith("#"):
            raise DnError(
                f'the value of {kind}= must be non-empty, without , + " \\ < > ; = or a leading #'
            )
        rdns.append((kind, value))
    if len(rdns) > MAX_RDNS:
        raise DnError(f"{len(rdns)} RDNs; at most {MAX_RDNS}")
    return tuple(rdns)


def fold(value: str) -> str:
    """A value as caseIgnoreMatch compares it: case folded, inner spaces squashed."""
    return " ".join(value.split()).casefold()


def normalize_dn(text: str) -> str:
    """``text`` in one canonical form (types and values folded, no spaces around ``,``/``=``)
    so that two spellings of one DN compare equal."""
    return ",".join(f"{kind.lower()}={fold(value)}" for kind, value in parse_dn(text))


def _dn(value: str) -> str:
    parse_dn(value)
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


Password = Annotated[
    str,
    Field(
        min_length=MIN_PASSWORD,
        max_length=128,
        description=f"Plain text, at least {MIN_PASSWORD} characters (so reports can redact it "
        "wherever it appears); never written to a trace or report",
    ),
]
AttributeValue = Annotated[str, Field(min_length=1, max_length=MAX_VALUE_LENGTH)]
AttributeValues = Annotated[list[AttributeValue], Field(min_length=1, max_length=MAX_VALUES)]


class ServiceAccount(_Strict):
    """The identity the policy binds as before it searches (``ldapServerUserDn``)."""

    dn: str = Field(
        max_length=MAX_DN_LENGTH, description="Its DN, e.g. cn=reader,dc=asmkit,dc=test"
    )
    password: Password

    _check_dn = field_validator("dn")(_dn)


class DirectoryEntry(_Strict):
    """A user (or any entry) a search can find and, with a password, a bind can authenticate."""

    dn: str = Field(
        max_length=MAX_DN_LENGTH,
        description="At or below the base, e.g. uid=alice,ou=people,dc=asmkit,dc=test",
    )
    password: Password | None = Field(
        None, description="Its userPassword; none: the entry cannot bind"
    )
    attributes: dict[
        Annotated[str, Field(pattern=ATTRIBUTE_PATTERN)], AttributeValue | AttributeValues
    ] = Field(
        default_factory=dict,
        max_length=MAX_ATTRIBUTES,
        description="Attribute values (a text or a list); the RDN's value is added, and "
        "objectClass defaults to inetOrgPerson with its superclasses",
    )

    _check_dn = field_validator("dn")(_dn)

    @field_validator("attributes")
    @classmethod
    def _no_password_attribute(cls, value: dict[str, object]) -> dict[str, object]:
        lowered = [name.lower() for name in value]
        if "userpassword" in lowered:
            raise ValueError("set the password with password:, not as userPassword")
        twice = sorted({n for n in lowered if lowered.count(n) > 1})
        if twice:
            raise ValueError(f"attribute {', '.join(twice)} is given twice (names ignore case)")
        return value

    def values(self) -> dict[str, tuple[str, ...]]:
        """Every attribute by its lowercased name, with the RDN's value and the default
        objectClass added."""
        found = {
            name.lower(): (value,) if isinstance(value, str) else tuple(value)
            for name, value in self.attributes.items()
        }
        found.setdefault("objectclass", DEFAULT_CLASSES)
        kind, value = parse_dn(self.dn)[0]
        have = found.get(kind.lower(), ())
        if fold(value) not in {fold(v) for v in have}:
            found[kind.lower()] = (*have, value)
        return found


class DirectorySpec(_Strict):
    """An LDAPv3 directory on loopback at ``${directory.url}`` holding ``entries`` under
    ``base``; the base and every entry between it and a listed entry exist implicitly."""

    base: str = Field(
        max_length=MAX_DN_LENGTH, description="The naming context, e.g. dc=asmkit,dc=test"
    )
    service: ServiceAccount
    entries: list[DirectoryEntry] = Field(default_factory=list, max_length=MAX_ENTRIES)

    _check_base = field_validator("base")(_dn)

    @model_validator(mode="after")
    def _entries_under_base(self) -> DirectorySpec:
        base = normalize_dn(self.base)
        if not base:
            raise ValueError("base: give the naming context, e.g. dc=asmkit,dc=test")
        seen: dict[str, int] = {}
        for i, entry in enumerate(self.entries):
            dn = normalize_dn(entry.dn)
            if dn != base and not dn.endswith("," + base):
                raise ValueError(f"entries[{i}].dn: {entry.dn!r} is not below base {self.base!r}")
            if dn in seen:
                raise ValueError(f"entries[{i}].dn: {entry.dn!r} is entries[{seen[dn]}] again")
            seen[dn] = i
        service = normalize_dn(self.service.dn)
        if service in seen:
            raise ValueError(
                f"service.dn: {self.service.dn!r} is also entries[{seen[service]}]; give the "
                "service account a DN of its own"
            )
        return self

    def secrets(self) -> list[str]:
        """Every password the directory holds (for the report's redactor)."""
        return [self.service.password, *(e.password for e in self.entries if e.password)]
