"""A small BER codec for LDAP (X.690 as RFC 4511 §5.1 restricts it): one-byte tags, definite
lengths only, every length, the nesting depth and the element count bounded, so a hostile frame
costs at most its own bytes. Reading raises `BerError`; writing builds bytes from values."""

from __future__ import annotations

from dataclasses import dataclass

MAX_DEPTH = 24
"""Deepest nesting decoded (an LDAPMessage holding a search filter nested 16 deep needs ~20)."""
MAX_ELEMENTS = 4096
"""Most elements decoded from one message (a 64 KiB frame of empty elements would be 32768)."""
MAX_LENGTH_OCTETS = 4
"""A length in more than four octets (4 GiB) is refused before anything is read."""

CONSTRUCTED = 0x20
UNIVERSAL_BOOLEAN = 0x01
UNIVERSAL_INTEGER = 0x02
UNIVERSAL_OCTET_STRING = 0x04
UNIVERSAL_NULL = 0x05
UNIVERSAL_ENUMERATED = 0x0A
SEQUENCE = 0x30
SET = 0x31


class BerError(ValueError):
    """Bytes that are not BER as LDAP allows it, or that exceed a bound."""


@dataclass(frozen=True, slots=True)
class Element:
    """One decoded TLV: its identifier octet, its content octets and, when constructed, the
    elements inside."""

    tag: int
    content: bytes
    children: tuple[Element, ...] = ()

    @property
    def constructed(self) -> bool:
        return bool(self.tag & CONSTRUCTED)

    def integer(self) -> int:
        """The content as a two's-complement integer (INTEGER, ENUMERATED or an implicit tag)."""
        if self.constructed or not 1 <= len(self.content) <= 8:
            raise BerError(f"tag 0x{self.tag:02x}: an integer needs 1 to 8 content octets")
        return int.from_bytes(self.content, "big", signed=True)

    def boolean(self) -> bool:
        if self.constructed or len(self.content) != 1:
            raise BerError(f"tag 0x{self.tag:02x}: a boolean is one content octet")
        return self.content != b"\x00"

    def text(self) -> str:
        """The content as UTF-8 text (an LDAPString or LDAPDN)."""
        if self.constructed:
            raise BerError(f"tag 0x{self.tag:02x}: expected a primitive string")
        try:
            return self.content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BerError(f"tag 0x{self.tag:02x}: not UTF-8 ({exc.reason})") from None

    def expect(self, tag: int, what: str) -> Element:
        """This element, checked to carry ``tag``."""
        if self.tag != tag:
            raise BerError(f"{what}: expected tag 0x{tag:02x}, got 0x{self.tag:02x}")
        return self


def header_length(prefix: bytes, limit: int) -> tuple[int, int] | None:
    """From the first octets of a message: (header size, content length), or None while more
    octets are needed. Raises for an indefinite or over-long length, or one above ``limit``."""
    if len(prefix) < 2:
        return None
    if prefix[0] & 0x1F == 0x1F:
        raise BerError("multi-octet tags are not used by LDAP")
    first = prefix[1]
    if first < 0x80:
        size, length = 2, first
    elif first == 0x80:
        raise BerError("indefinite length is not allowed in LDAP (RFC 4511 §5.1)")
    else:
        octets = first & 0x7F
        if octets > MAX_LENGTH_OCTETS:
            raise BerError(f"a length in {octets} octets is beyond any bound")
        if len(prefix) < 2 + octets:
            return None
        size, length = 2 + octets, int.from_bytes(prefix[2 : 2 + octets], "big")
    if length > limit:
        raise BerError(f"an element of {length} bytes where at most {limit} may follow")
    return size, length


def decode(data: bytes) -> Element:
    """Exactly one element filling ``data`` (a whole message), bounded by `MAX_DEPTH` and
    `MAX_ELEMENTS`."""
    budget = [MAX_ELEMENTS]
    element, end = _read(data, 0, len(data), 0, budget)
    if end != len(data):
        raise BerError(f"{len(data) - end} bytes after the element")
    return element


def _read(data: bytes, start: int, stop: int, depth: int, budget: list[int]) -> tuple[Element, int]:
    if depth > MAX_DEPTH:
        raise BerError(f"elements nested deeper than {MAX_DEPTH}")
    budget[0] -= 1
    if budget[0] < 0:
        raise BerError(f"more than {MAX_ELEMENTS} elements in one message")
    parsed = header_length(data[start : min(stop, start + 2 + MAX_LENGTH_OCTETS)], stop - start)
    if parsed is None:
        raise BerError(f"truncated element header at offset {start}")
    size, length = parsed
    begin, end = start + size, start + size + length
    if end > stop:
        raise BerError(f"an element at offset {start} runs past its container")
    tag = data[start]
    content = data[begin:end]
    if not tag & CONSTRUCTED:
        return Element(tag, content), end
    children: list[Element] = []
    at = begin
    while at < end:
        child, at = _read(data, at, end, depth + 1, budget)
        children.append(child)
    return Element(tag, content, tuple(children)), end


def tlv(tag: int, content: bytes) -> bytes:
    """One element with a definite length (short form below 128 bytes)."""
    length = len(content)
    if length < 0x80:
        return bytes((tag, length)) + content
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(octets))) + octets + content


def integer(value: int, tag: int = UNIVERSAL_INTEGER) -> bytes:
    size = max(1, (value.bit_length() + 8) // 8)  # room for the sign bit
    return tlv(tag, value.to_bytes(size, "big", signed=True))


def enumerated(value: int) -> bytes:
    return integer(value, UNIVERSAL_ENUMERATED)


def boolean(value: bool) -> bytes:
    return tlv(UNIVERSAL_BOOLEAN, b"\xff" if value else b"\x00")


def octets(value: str | bytes, tag: int = UNIVERSAL_OCTET_STRING) -> bytes:
    return tlv(tag, value.encode("utf-8") if isinstance(value, str) else value)


def sequence(*parts: bytes, tag: int = SEQUENCE) -> bytes:
    return tlv(tag, b"".join(parts))


def set_of(*parts: bytes) -> bytes:
    return tlv(SET, b"".join(parts))
