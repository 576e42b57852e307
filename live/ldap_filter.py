"""LDAP search filters (RFC 4511 §4.5.1.7): decoded from their BER form with the number of
terms bounded, and evaluated against an entry in three-valued logic (a term the directory cannot
decide, such as an ordering match, is Undefined, and an entry is returned only when True).
Values compare as caseIgnoreMatch does, for every attribute."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from live.ber import BerError, Element
from scenarios.directory import fold

MAX_TERMS = 64
"""Most filter terms (and, or, not and the assertions) in one search."""

AND, OR, NOT = 0xA0, 0xA1, 0xA2
EQUALITY, SUBSTRINGS, PRESENT = 0xA3, 0xA4, 0x87
UNDECIDED = {0xA5: ">=", 0xA6: "<=", 0xA8: "~=", 0xA9: ":="}
"""Filter choices the directory parses but cannot decide: each term is Undefined."""
_INITIAL, _ANY, _FINAL = 0x80, 0x81, 0x82

Values = Mapping[str, tuple[str, ...]]
"""An entry's attributes by lowercased name."""


@dataclass(frozen=True, slots=True)
class Filter:
    """One term: ``op`` is ``&``, ``|``, ``!``, ``=``, ``=*`` (present), ``*`` (substrings) or
    one of `UNDECIDED`; ``parts`` the sub-filters, ``attribute``/``value``/``pieces`` the
    assertion (pieces: initial, any..., final of a substring filter; None where absent)."""

    op: str
    parts: tuple[Filter, ...] = ()
    attribute: str = ""
    value: str = ""
    pieces: tuple[str | None, ...] = ()

    def matches(self, values: Values) -> bool | None:
        """True, False, or None for Undefined."""
        if self.op == "&":
            results = [p.matches(values) for p in self.parts]
            return False if False in results else (None if None in results else True)
        if self.op == "|":
            results = [p.matches(values) for p in self.parts]
            return True if True in results else (None if None in results else False)
        if self.op == "!":
            inner = self.parts[0].matches(values)
            return None if inner is None else not inner
        have = values.get(self.attribute)
        if self.op == "=*":
            return have is not None
        if self.op in UNDECIDED.values():
            return None
        if have is None:
            return False  # an attribute the entry lacks: False (RFC 4511 allows Undefined too)
        if self.op == "=":
            return fold(self.value) in {fold(v) for v in have}
        return any(_substrings(fold(v), self.pieces) for v in have)

    def text(self) -> str:
        """The filter in RFC 4515 string form (values escaped), for the trace."""
        if self.op in ("&", "|", "!"):
            return f"({self.op}{''.join(p.text() for p in self.parts)})"
        if self.op == "=*":
            return f"({self.attribute}=*)"
        if self.op == "*":
            shown = "*".join(_escaped(p or "") for p in self.pieces)
            return f"({self.attribute}={shown})"
        return f"({self.attribute}{self.op}{_escaped(self.value)})"


def _escaped(value: str) -> str:
    """A value as RFC 4515 writes it: ``*``, ``(``, ``)``, backslash, NUL as ``\\2a``..."""
    return "".join(f"\\{ord(c):02x}" if c in "*()\\\0" else c for c in value)


def _substrings(value: str, pieces: tuple[str | None, ...]) -> bool:
    initial, *middle, final = pieces
    at = 0
    if initial is not None:
        if not value.startswith(fold(initial)):
            return False
        at = len(fold(initial))
    for piece in middle:
        found = value.find(fold(piece or ""), at)
        if found < 0:
            return False
        at = found + len(fold(piece or ""))
    return final is None or (len(value) - at >= len(fold(final)) and value.endswith(fold(final)))


def decode_filter(element: Element) -> Filter:
    """The filter ``element`` holds; raises `BerError` for a malformed or oversized one."""
    budget = [MAX_TERMS]
    return _decode(element, budget)


def _decode(element: Element, budget: list[int]) -> Filter:
    budget[0] -= 1
    if budget[0] < 0:
        raise BerError(f"a filter of more than {MAX_TERMS} terms")
    tag = element.tag
    if tag in (AND, OR):
        if not element.children:
            raise BerError("an empty and/or filter")  # absolute true/false (RFC 4526): unused
        return Filter(
            "&" if tag == AND else "|", tuple(_decode(c, budget) for c in element.children)
        )
    if tag == NOT:
        if len(element.children) != 1:
            raise BerError("a not filter holds exactly one filter")
        return Filter("!", (_decode(element.children[0], budget),))
    if tag == PRESENT:
        return Filter("=*", attribute=_attribute(element))
    if tag == EQUALITY or tag in UNDECIDED:
        if tag == 0xA9:  # extensibleMatch: its parts are optional and tagged; undecided anyway
            return Filter(":=")
        kind, value = _pair(element)
        return Filter("=" if tag == EQUALITY else UNDECIDED[tag], attribute=kind, value=value)
    if tag == SUBSTRINGS:
        if len(element.children) != 2 or not element.children[1].children:
            raise BerError("a substrings filter is a type and at least one substring")
        kind = _attribute(element.children[0])
        initial: str | None = None
        middle: list[str | None] = []
        final: str | None = None
        for i, piece in enumerate(element.children[1].children):
            text = piece.text()
            if piece.tag == _INITIAL and i == 0:
                initial = text
            elif piece.tag == _ANY and final is None:
                middle.append(text)
            elif piece.tag == _FINAL and final is None:
                final = text
            else:
                raise BerError("substrings: initial first, final last, at most one of each")
        return Filter("*", attribute=kind, pieces=(initial, *middle, final))
    raise BerError(f"unknown filter choice 0x{tag:02x}")


def _pair(element: Element) -> tuple[str, str]:
    if len(element.children) != 2:
        raise BerError("an attribute value assertion is a type and a value")
    return _attribute(element.children[0]), element.children[1].text()


def _attribute(element: Element) -> str:
    name = element.text()
    if not name or len(name) > 128:
        raise BerError("an attribute description of 1 to 128 characters")
    return name.lower()
