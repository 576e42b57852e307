"""The BER codec of the scenario directory: values written read back, and hostile bytes (an
indefinite or oversized length, deep nesting, too many elements, truncation, garbage) are a
`BerError`, never another exception, before anything large is allocated."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from live import ber
from live.ber import BerError, decode, header_length
from live.ldap_filter import MAX_TERMS, decode_filter
from live.ldap_messages import decode_message


def test_values_read_back() -> None:
    for value in (0, 1, 127, 128, 255, 256, 2**31 - 1, -1, -129):
        assert decode(ber.integer(value)).integer() == value
    assert decode(ber.boolean(True)).boolean() is True
    assert decode(ber.boolean(False)).boolean() is False
    text = "é" * 200  # 400 bytes: a two-octet long-form length
    element = decode(ber.sequence(ber.octets(text), ber.enumerated(3), ber.set_of()))
    assert element.constructed and [c.tag for c in element.children] == [0x04, 0x0A, 0x31]
    assert element.children[0].text() == text and element.children[1].integer() == 3


def test_lengths_use_the_short_form_below_128_and_the_long_form_above() -> None:
    assert ber.tlv(0x04, b"x" * 127)[:2] == b"\x04\x7f"
    assert ber.tlv(0x04, b"x" * 128)[:3] == b"\x04\x81\x80"
    assert ber.tlv(0x04, b"x" * 300)[:4] == b"\x04\x82\x01\x2c"


def test_a_header_is_read_before_its_content_and_bounded() -> None:
    assert header_length(b"\x30", 100) is None
    assert header_length(b"\x30\x82\x01", 1000) is None
    assert header_length(b"\x30\x82\x01\x00", 1000) == (4, 256)
    assert header_length(b"\x30\x05", 100) == (2, 5)
    with pytest.raises(BerError, match="indefinite"):
        header_length(b"\x30\x80", 100)
    with pytest.raises(BerError, match="5 octets"):
        header_length(b"\x30\x85\x01\x00\x00\x00\x00", 100)
    with pytest.raises(BerError, match="at most 65536"):
        header_length(b"\x30\x84\x7f\xff\xff\xff", 65536)
    with pytest.raises(BerError, match="multi-octet tags"):
        header_length(b"\x3f\x01", 100)


def test_hostile_structures_are_refused() -> None:
    deep = b""
    for _ in range(ber.MAX_DEPTH + 2):
        deep = ber.sequence(deep)
    with pytest.raises(BerError, match="nested deeper"):
        decode(deep)
    many = ber.sequence(*(ber.octets("") for _ in range(ber.MAX_ELEMENTS + 1)))
    with pytest.raises(BerError, match="more than 4096 elements"):
        decode(many)
    with pytest.raises(BerError, match="5 bytes where at most 3 may follow"):
        decode(b"\x30\x03\x04\x05ab")
    with pytest.raises(BerError, match="after the element"):
        decode(ber.octets("a") + b"\x00")
    with pytest.raises(BerError, match="truncated"):
        decode(b"\x30\x01\x04")
    with pytest.raises(BerError, match="1 to 8 content octets"):
        decode(ber.tlv(0x02, b"\x01" * 9)).integer()
    with pytest.raises(BerError, match="not UTF-8"):
        decode(ber.octets(b"\xff\xfe")).text()


def test_a_filter_is_bounded_in_terms() -> None:
    wide = ber.sequence(*(ber.octets("uid", tag=0x87) for _ in range(MAX_TERMS)), tag=0xA1)
    with pytest.raises(BerError, match=f"more than {MAX_TERMS} terms"):
        decode_filter(decode(wide))
    with pytest.raises(BerError, match="empty and/or"):
        decode_filter(decode(ber.sequence(tag=0xA0)))
    with pytest.raises(BerError, match="unknown filter choice"):
        decode_filter(decode(ber.octets("x", tag=0x8F)))


@settings(
    max_examples=400, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.binary(max_size=512))
def test_garbage_is_a_ber_error_or_a_message(data: bytes) -> None:
    with contextlib.suppress(BerError):
        decode_message(data)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.binary(max_size=64), st.integers(0, 40))
def test_a_bind_mangled_anywhere_is_a_ber_error_or_a_message(tail: bytes, cut: int) -> None:
    bind = ber.sequence(
        ber.integer(1),
        ber.sequence(ber.integer(3), ber.octets("uid=a"), ber.octets("pw", tag=0x80), tag=0x60),
    )
    with contextlib.suppress(BerError):
        decode_message(bind[:cut] + tail)
