"""LDAPv3 messages (RFC 4511) as the scenario directory reads and writes them: requests decoded
from one BER frame into small values (bind, search, unbind, extended, abandon, or another
operation it refuses), and the responses it sends encoded. Malformed frames raise `BerError`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from live import ber
from live.ber import BerError, Element
from live.ldap_filter import Filter, decode_filter


class Result(IntEnum):
    """The result codes the directory answers with (RFC 4511 Appendix A)."""

    SUCCESS = 0
    PROTOCOL_ERROR = 2
    SIZE_LIMIT_EXCEEDED = 4
    AUTH_METHOD_NOT_SUPPORTED = 7
    NO_SUCH_OBJECT = 32
    INVALID_DN_SYNTAX = 34
    INVALID_CREDENTIALS = 49
    INSUFFICIENT_ACCESS_RIGHTS = 50
    BUSY = 51
    UNWILLING_TO_PERFORM = 53


BIND, UNBIND, SEARCH, ABANDON, EXTENDED = 0x60, 0x42, 0x63, 0x50, 0x77
BIND_RESPONSE, SEARCH_ENTRY, SEARCH_DONE, EXTENDED_RESPONSE = 0x61, 0x64, 0x65, 0x78
REFUSED_RESPONSES = {0x66: 0x67, 0x68: 0x69, 0x4A: 0x6B, 0x6C: 0x6D, 0x6E: 0x6F}
"""Modify, add, delete, modify DN and compare: each answered unwillingToPerform with its own
response tag (the directory is read-only and holds no passwords to compare)."""
SIMPLE, SASL = 0x80, 0xA3
SCOPES = ("baseObject", "singleLevel", "wholeSubtree")
WHOAMI = "1.3.6.1.4.1.4203.1.11.3"
STARTTLS = "1.3.6.1.4.1.1466.20037"
NOTICE_OF_DISCONNECTION = "1.3.6.1.4.1.1466.20036"
MAX_MESSAGE_ID = 2**31 - 1
MAX_SELECTED = 64
"""Most attributes a search may name."""


@dataclass(frozen=True, slots=True)
class Bind:
    name: str
    password: bytes | None
    """None: a SASL bind (not supported)."""
    version: int


@dataclass(frozen=True, slots=True)
class Search:
    base: str
    scope: int
    size_limit: int
    types_only: bool
    filter: Filter
    attributes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Extended:
    name: str


@dataclass(frozen=True, slots=True)
class Other:
    """An operation the directory does not perform: ``response`` is the tag to answer with,
    or None for one without an answer (abandon, unbind)."""

    tag: int
    response: int | None


Request = Bind | Search | Extended | Other


def decode_message(frame: bytes) -> tuple[int, Request]:
    """The message id and request of one whole LDAPMessage frame."""
    message = ber.decode(frame).expect(ber.SEQUENCE, "LDAPMessage")
    if len(message.children) not in (2, 3):  # id, operation, optional controls
        raise BerError("an LDAPMessage is an id, an operation and optional controls")
    first, op = message.children[0], message.children[1]
    message_id = first.expect(ber.UNIVERSAL_INTEGER, "messageID").integer()
    if not 0 < message_id <= MAX_MESSAGE_ID:  # 0 is reserved for unsolicited notifications
        raise BerError(f"messageID {message_id} is out of range")
    return message_id, _request(op)


def _request(op: Element) -> Request:
    if op.tag == BIND:
        return _bind(op)
    if op.tag == SEARCH:
        return _search(op)
    if op.tag == EXTENDED:
        if not op.children or op.children[0].tag != 0x80:
            raise BerError("an extended request starts with its requestName [0]")
        return Extended(op.children[0].text())
    if op.tag in (UNBIND, ABANDON):
        return Other(op.tag, None)
    if op.tag in REFUSED_RESPONSES:
        return Other(op.tag, REFUSED_RESPONSES[op.tag])
    raise BerError(f"unknown protocol operation 0x{op.tag:02x}")


def _bind(op: Element) -> Bind:
    if len(op.children) != 3:
        raise BerError("a bind request is a version, a name and an authentication")
    version = op.children[0].expect(ber.UNIVERSAL_INTEGER, "bind version").integer()
    name = op.children[1].expect(ber.UNIVERSAL_OCTET_STRING, "bind name").text()
    auth = op.children[2]
    if auth.tag == SIMPLE:
        return Bind(name, auth.content, version)
    if auth.tag == SASL:
        return Bind(name, None, version)
    raise BerError(f"unknown bind authentication choice 0x{auth.tag:02x}")


def _search(op: Element) -> Search:
    if len(op.children) != 8:
        raise BerError("a search request has eight fields")
    base, scope, _deref, size, _time, types, flt, selection = op.children
    scope_value = scope.expect(ber.UNIVERSAL_ENUMERATED, "scope").integer()
    if scope_value not in (0, 1, 2):
        raise BerError(f"search scope {scope_value} is none of {', '.join(SCOPES)}")
    size_limit = size.expect(ber.UNIVERSAL_INTEGER, "sizeLimit").integer()
    if size_limit < 0:
        raise BerError("a negative sizeLimit")
    selection.expect(ber.SEQUENCE, "attributes")
    if len(selection.children) > MAX_SELECTED:
        raise BerError(f"a search naming more than {MAX_SELECTED} attributes")
    return Search(
        base=base.expect(ber.UNIVERSAL_OCTET_STRING, "baseObject").text(),
        scope=scope_value,
        size_limit=size_limit,
        types_only=types.expect(ber.UNIVERSAL_BOOLEAN, "typesOnly").boolean(),
        filter=decode_filter(flt),
        attributes=tuple(
            a.expect(ber.UNIVERSAL_OCTET_STRING, "attribute").text() for a in selection.children
        ),
    )


def _message(message_id: int, op: bytes) -> bytes:
    return ber.sequence(ber.integer(message_id), op)


def _result(code: Result, message: str, matched: str = "") -> bytes:
    return ber.enumerated(code) + ber.octets(matched) + ber.octets(message)


def result_message(message_id: int, tag: int, code: Result, message: str = "") -> bytes:
    """A response carrying only an LDAPResult (bind, search done, modify, add, ...)."""
    return _message(message_id, ber.sequence(_result(code, message), tag=tag))


def entry_message(message_id: int, dn: str, attributes: list[tuple[str, tuple[str, ...]]]) -> bytes:
    """A SearchResultEntry: the DN and each attribute with its values."""
    listed = b"".join(
        ber.sequence(ber.octets(name), ber.set_of(*(ber.octets(v) for v in values)))
        for name, values in attributes
    )
    return _message(
        message_id, ber.sequence(ber.octets(dn), ber.sequence(listed), tag=SEARCH_ENTRY)
    )


def extended_message(
    message_id: int,
    code: Result,
    message: str = "",
    name: str | None = None,
    value: str | None = None,
) -> bytes:
    """An ExtendedResponse, with responseName [10] and responseValue [11] when given."""
    parts = _result(code, message)
    if name is not None:
        parts += ber.octets(name, tag=0x8A)
    if value is not None:
        parts += ber.octets(value, tag=0x8B)
    return _message(message_id, ber.sequence(parts, tag=EXTENDED_RESPONSE))


def disconnection(code: Result, message: str) -> bytes:
    """The Notice of Disconnection (RFC 4511 §4.4.1) sent before closing a connection."""
    return extended_message(0, code, message, NOTICE_OF_DISCONNECTION)
