"""HTTP/2 (RFC 9113) and HPACK (RFC 7541) on the wire for the kit's gRPC client: frame
encoding, a bounded frame splitter, request header blocks encoded without indexing (so one block
can be sent again and again), and response header blocks decoded with `hpack` under a zero-size
dynamic table, memoized by their bytes in a bounded cache."""

from __future__ import annotations

import struct
from typing import NamedTuple

from hpack import Decoder, HPACKError
from hpack.table import HeaderTable

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY = range(8)
WINDOW_UPDATE, CONTINUATION = 8, 9
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20

NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR = 0x0, 0x1, 0x2, 0x3
FRAME_SIZE_ERROR, CANCEL, COMPRESSION_ERROR, ENHANCE_YOUR_CALM = 0x6, 0x8, 0x9, 0xB

HEADER_TABLE_SIZE, ENABLE_PUSH, MAX_CONCURRENT_STREAMS = 0x1, 0x2, 0x3
INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE, MAX_HEADER_LIST_SIZE = 0x4, 0x5, 0x6

DEFAULT_WINDOW = 65_535
MAX_WINDOW = 2**31 - 1
DEFAULT_FRAME_SIZE = 16_384
MAX_STREAM_ID = 2**31 - 1

OUR_FRAME_SIZE = DEFAULT_FRAME_SIZE
"""The largest frame payload we accept (we do not raise SETTINGS_MAX_FRAME_SIZE)."""
OUR_HEADER_LIST = 64 * 1024
"""SETTINGS_MAX_HEADER_LIST_SIZE we send, and the bound on a received header block's bytes."""
BLOCK_CACHE = 256
"""Distinct response header blocks whose decoding is kept."""

_HEAD = struct.Struct(">HBBBI")


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    n = len(payload)
    return _HEAD.pack(n >> 8, n & 0xFF, kind, flags, stream) + payload


def settings_frame(values: list[tuple[int, int]]) -> bytes:
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in values))


def window_update(stream: int, increment: int) -> bytes:
    return frame(WINDOW_UPDATE, 0, stream, struct.pack(">I", increment))


def rst_stream(stream: int, code: int) -> bytes:
    return frame(RST_STREAM, 0, stream, struct.pack(">I", code))


def goaway(last_stream: int, code: int, debug: str = "") -> bytes:
    return frame(GOAWAY, 0, 0, struct.pack(">II", last_stream, code) + debug.encode()[:256])


class ProtocolError(Exception):
    """The peer broke HTTP/2; ``code`` is the RFC 9113 error code to close with."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class FrameReader:
    """Splits received bytes into frames: ``(type, flags, stream, payload)``; a frame longer
    than `OUR_FRAME_SIZE` is a FRAME_SIZE_ERROR (so the buffer stays bounded)."""

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> list[tuple[int, int, int, bytes]]:
        buf = self._buf + data if self._buf else data
        frames: list[tuple[int, int, int, bytes]] = []
        at, size = 0, len(buf)
        while size - at >= 9:
            hi, lo, kind, flags, stream = _HEAD.unpack_from(buf, at)
            length = hi << 8 | lo
            if length > OUR_FRAME_SIZE:
                raise ProtocolError(
                    FRAME_SIZE_ERROR, f"frame of {length} bytes over {OUR_FRAME_SIZE}"
                )
            end = at + 9 + length
            if end > size:
                break
            frames.append((kind, flags, stream & MAX_STREAM_ID, buf[at + 9 : end]))
            at = end
        self._buf = buf[at:] if at < size else b""
        return frames


def strip_padding(flags: int, payload: bytes, *, priority: bool = False) -> bytes:
    """A DATA or HEADERS payload without its padding (and priority fields for HEADERS)."""
    start = 0
    end = len(payload)
    if flags & PADDED:
        if not payload:
            raise ProtocolError(PROTOCOL_ERROR, "padded frame without a pad length")
        start, end = 1, end - payload[0]
    if priority and flags & PRIORITY_FLAG:
        start += 5
    if end < start:
        raise ProtocolError(PROTOCOL_ERROR, "padding longer than the frame")
    return payload[start:end] if start or end != len(payload) else payload


def _integer(value: int, bits: int, first: int) -> bytes:
    """An HPACK integer with a ``bits``-bit prefix, ``first`` holding the pattern bits."""
    limit = (1 << bits) - 1
    if value < limit:
        return bytes([first | value])
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return _integer(len(raw), 7, 0) + raw


_STATIC_FULL = {
    (n.decode(), v.decode()): i + 1 for i, (n, v) in enumerate(HeaderTable.STATIC_TABLE)
}
_STATIC_NAME: dict[str, int] = {}
for (_name, _), _index in _STATIC_FULL.items():
    _STATIC_NAME.setdefault(_name, _index)

TABLE_SIZE_ZERO = b"\x20"
"""A dynamic table size update to 0 (we never index, so our encoder's table stays empty)."""


def encode_field(name: str, value: str) -> bytes:
    """One header field that leaves the peer's dynamic table alone: indexed when the static
    table has it, else a literal without indexing (static name when it has the name)."""
    for text in (name, value):
        if "\r" in text or "\n" in text or "\0" in text:
            raise ValueError(f"HTTP/2 header {name!r}: {text[:60]!r} contains CR, LF or NUL")
    full = _STATIC_FULL.get((name, value))
    if full is not None:
        return _integer(full, 7, 0x80)
    index = _STATIC_NAME.get(name)
    if index is not None:
        return _integer(index, 4, 0) + _string(value)
    return b"\x00" + _string(name) + _string(value)


def encode_block(fields: list[tuple[str, str]]) -> bytes:
    return b"".join(encode_field(n, v) for n, v in fields)


class Block(NamedTuple):
    """A decoded response header block with what the client reads from it."""

    headers: tuple[tuple[str, str], ...]
    status: str | None
    content_type: str | None
    grpc_status: str | None
    grpc_message: str | None
    malformed: str
    """Why the block is not a valid response header section (RFC 9113 §8.3.2), or ""."""


class BlockDecoder:
    """Decodes response header blocks. We advertise SETTINGS_HEADER_TABLE_SIZE=0, so the
    peer's encoder cannot index and a block's meaning depends on its bytes alone: decoded
    blocks are memoized (`BLOCK_CACHE` of them)."""

    def __init__(self) -> None:
        self._decoder = Decoder(max_header_list_size=OUR_HEADER_LIST)
        self._decoder.header_table_size = 0
        self._decoder.max_allowed_table_size = 0
        self._cache: dict[bytes, Block] = {}

    def decode(self, raw: bytes) -> Block:
        block = self._cache.get(raw)
        if block is not None:
            return block
        try:
            pairs = self._decoder.decode(raw, raw=True)
        except (HPACKError, ValueError, IndexError, struct.error) as err:
            raise ProtocolError(COMPRESSION_ERROR, f"undecodable header block: {err}") from err
        headers = tuple((bytes(n).decode("latin-1"), bytes(v).decode("latin-1")) for n, v in pairs)
        found: dict[str, str] = {}
        malformed = ""
        regular = False
        for name, value in headers:
            if name != name.lower() or not name:
                malformed = malformed or f"header name {name[:60]!r} is not lowercase"
            elif name.startswith(":"):
                if name != ":status" or regular or name in found:
                    malformed = malformed or f"pseudo-header {name[:60]!r} out of place"
            else:
                regular = True
            found.setdefault(name, value)
        block = Block(
            headers,
            found.get(":status"),
            found.get("content-type"),
            found.get("grpc-status"),
            found.get("grpc-message"),
            malformed,
        )
        if len(self._cache) < BLOCK_CACHE:
            self._cache[raw] = block
        return block
