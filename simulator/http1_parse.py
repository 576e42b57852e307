"""HTTP/1.1 responses on the wire for the kit's load client: an incremental, bounded parser
(Content-Length, chunked, read until close; no body for HEAD, 1xx, 204 and 304; interim 1xx
answers skipped). A response that comes whole in one read, framed by one Content-Length, takes
`simulator.http1_fast` first. Requests are encoded by `simulator.http1_encode`."""

from __future__ import annotations

import re

from simulator.http1_fast import Heads, whole_response
from simulator.http1_response import MAX_BODY, MAX_HEAD, MAX_HEADERS, Http1Response

__all__ = [
    "MAX_BODY",
    "MAX_HEAD",
    "MAX_HEADERS",
    "Http1Response",
    "ProtocolError",
    "ResponseParser",
]

MAX_CHUNK_LINE = 4096
"""Bytes of a chunk-size line (with extensions) or of one trailer line."""
MAX_INTERIM = 8
"""Interim (1xx) answers skipped before the final one."""


class ProtocolError(Exception):
    """The peer's bytes are not a valid, bounded HTTP/1.1 response."""


_BAD_LINE = re.compile(r"\r\n(?![!#$%&'*+.^_`|~0-9A-Za-z-]+:)")
"""A header line that is not ``token:`` (obsolete folding, no colon, space before it)."""

_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILERS, _UNTIL_CLOSE = range(7)


class ResponseParser:
    """Parses the responses of one connection, one request at a time: `expect` before each
    request, then `feed` bytes until it returns the response (`eof` at a close)."""

    def __init__(self, *, max_body: int = MAX_BODY, heads: Heads | None = None) -> None:
        self.max_body = max_body
        self._heads = heads  # verdicts on heads seen before, for the fast path
        self._buf = b""
        self._state = _HEAD
        self._head_request = False
        self._expecting = False
        self._interim = 0
        self._left = 0
        self._parts: list[bytes] = []
        self._size = 0
        self._response: Http1Response | None = None
        self.received = 0
        """Bytes received for the current request (0: the peer said nothing yet)."""

    def expect(self, head_request: bool = False) -> None:
        """The next response answers a request just sent (a HEAD one has no body)."""
        self._head_request = head_request
        self._expecting = True
        self._interim = 0
        self.received = 0

    def feed(self, data: bytes) -> Http1Response | None:
        """Take ``data``; the response once complete (None: more bytes needed)."""
        if not self._expecting:
            raise ProtocolError(f"{len(data)} bytes arrived with no request outstanding")
        self.received += len(data)
        if not self._buf and self._state == _HEAD and not self._head_request:
            whole = whole_response(data, self.max_body, self._heads)
            if whole is not None:
                self._expecting = False
                return whole
        self._buf = self._buf + data if self._buf else data
        while True:
            if self._state == _HEAD:
                if not self._head():
                    return None
            elif self._state == _LENGTH:
                if not self._length():
                    return None
            elif self._state == _UNTIL_CLOSE:
                self._add(self._buf)
                self._buf = b""
                return None
            elif not self._chunked():
                return None
            if self._response is not None and self._state == _HEAD:
                return self._finish()

    def eof(self) -> Http1Response | None:
        """The connection closed: the response if its body ran until the close."""
        if self._expecting and self._state == _UNTIL_CLOSE and self._response is not None:
            self._state = _HEAD
            return self._finish()
        return None

    def _finish(self) -> Http1Response:
        response = self._response
        assert response is not None
        response.body = b"".join(self._parts) if len(self._parts) != 1 else self._parts[0]
        self._parts, self._size, self._response = [], 0, None
        self._expecting = False
        if self._buf:  # unsolicited bytes (no pipelining here): the connection is not reused
            response.keep_alive, self._buf = False, b""
        return response

    def _add(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self.max_body:
            raise ProtocolError(f"response body over {self.max_body} bytes")
        if data:
            self._parts.append(data)

    def _take_until(self, separator: bytes, limit: int, what: str) -> bytes | None:
        """The bytes before ``separator`` (consumed with it), None until it arrives;
        ProtocolError once more than ``limit`` bytes come without it."""
        end = self._buf.find(separator)
        if end > limit or (end < 0 and len(self._buf) > limit):
            raise ProtocolError(f"{what} over {limit} bytes")
        if end < 0:
            return None
        taken, self._buf = self._buf[:end], self._buf[end + len(separator) :]
        return taken

    def _head(self) -> bool:
        head = self._take_until(b"\r\n\r\n", MAX_HEAD, "response head")
        if head is None:
            return False
        parsed = _Head(head)
        response = parsed.response
        status = response.status
        if 100 <= status < 200 and status != 101:
            self._interim += 1
            if self._interim > MAX_INTERIM:
                raise ProtocolError(f"more than {MAX_INTERIM} interim (1xx) responses")
            return True  # skipped: the final response follows
        self._response = response
        self._parts, self._size = [], 0
        if self._head_request or status in (204, 304) or status == 101:
            self._state = _HEAD
            response.keep_alive = response.keep_alive and status != 101
            return True
        coding, length = parsed.coding, parsed.length
        if coding is not None:
            if coding.rsplit(",", 1)[-1].strip().lower() != "chunked":
                self._state, response.keep_alive = _UNTIL_CLOSE, False
            else:
                self._state = _CHUNK_SIZE
        elif length is not None:
            self._left = _content_length(length)
            if self._left > self.max_body:
                raise ProtocolError(f"content-length {self._left} over {self.max_body} bytes")
            self._state = _LENGTH if self._left else _HEAD
        else:
            self._state, response.keep_alive = _UNTIL_CLOSE, False
        return True

    def _take_left(self) -> bool:
        """Up to ``_left`` body bytes from the buffer; True once all of them have come."""
        take = self._buf[: self._left]
        self._buf = self._buf[len(take) :]
        self._left -= len(take)
        self._add(take)
        return not self._left

    def _length(self) -> bool:
        if not self._take_left():
            return False
        self._state = _HEAD
        return True

    def _line(self) -> bytes | None:
        return self._take_until(b"\r\n", MAX_CHUNK_LINE, "chunk line")

    def _chunked(self) -> bool:
        """One step of a chunked body; False when more bytes are needed."""
        if self._state == _CHUNK_SIZE:
            line = self._line()
            if line is None:
                return False
            size = line.split(b";", 1)[0].strip()
            if not size or len(size) > 16 or size.strip(b"0123456789abcdefABCDEF"):
                raise ProtocolError(f"chunk size {line[:40]!r} is not hexadecimal")
            self._left = int(size, 16)
            self._state = _CHUNK_DATA if self._left else _TRAILERS
            return True
        if self._state == _CHUNK_DATA:
            if not self._take_left():
                return False
            self._state = _CHUNK_END
            return True
        line = self._line()
        if line is None:
            return False
        if self._state == _CHUNK_END:
            if line:
                raise ProtocolError(f"chunk data not followed by CRLF: {line[:40]!r}")
            self._state = _CHUNK_SIZE
        elif not line:  # _TRAILERS: the empty line ends the message (trailers are dropped)
            self._state = _HEAD
        else:
            self._interim += 1  # counts trailer lines too: bounded
            if self._interim > MAX_HEADERS:
                raise ProtocolError(f"more than {MAX_HEADERS} trailer lines")
        return True


def _content_length(value: str) -> int:
    values = {v.strip() for v in value.split(",")}
    if len(values) != 1:
        raise ProtocolError(f"content-length {value!r} has differing values")
    (text,) = values
    if not (text.isascii() and text.isdigit()) or len(text) > 18:  # "\xb2".isdigit()
        raise ProtocolError(f"content-length {value!r} is not a number")
    return int(text)


_FRAMING = frozenset({"connection", "transfer-encoding", "content-length"})


class _Head:
    """What the parser needs from a head: the response (its headers split in the same pass)
    and its framing headers (lowercased values, comma-joined when repeated)."""

    __slots__ = ("coding", "length", "response")

    def __init__(self, head: bytes) -> None:
        text = head.decode("latin-1")
        lines = text.split("\r\n")
        status_line = lines[0]
        version, code, reason = status_line[:8], status_line[9:12], status_line[13:]
        if (
            version not in ("HTTP/1.1", "HTTP/1.0")
            or status_line[8:9] != " "
            or not (code.isascii() and code.isdigit())
            or len(code) != 3
            or status_line[12:13] not in ("", " ")
        ):
            raise ProtocolError(f"status line {status_line[:80]!r} is not HTTP/1.x NNN")
        if len(lines) > MAX_HEADERS + 1:
            raise ProtocolError(f"more than {MAX_HEADERS} response headers")
        bad = _BAD_LINE.search(text)
        if bad is not None:
            line = text[bad.start() + 2 :].split("\r\n", 1)[0]
            raise ProtocolError(f"header line {line[:80]!r} is not 'name: value'")
        headers: list[tuple[str, str]] = []
        framing: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            low, value = name.lower(), value.strip(" \t")
            headers.append((low, value))
            if low in _FRAMING:
                framing[low] = f"{framing[low]},{value}" if low in framing else value
        connection = framing.get("connection", "").lower()
        if version == "HTTP/1.1":
            keep_alive = "close" not in connection
        else:
            keep_alive = "keep-alive" in connection
        self.response = Http1Response(int(code), reason, head, keep_alive, headers)
        coding = framing.get("transfer-encoding")
        self.coding = None if coding is None else coding.lower()
        self.length = framing.get("content-length")
