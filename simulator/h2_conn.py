"""One HTTP/2 connection of the kit's gRPC client (`simulator.h2_grpc`), an `asyncio.Protocol`:
many concurrent unary streams, the peer's SETTINGS, PING, flow control both ways, GOAWAY and
RST_STREAM; each stream ends in one result ``(grpc code, message, response message)``."""

from __future__ import annotations

import asyncio
import struct
from collections import deque
from collections.abc import Callable
from typing import cast

from simulator import grpc_wire as gw
from simulator import h2_wire as hw
from simulator.h2_wire import ProtocolError

OUR_WINDOW = 1 << 20
"""SETTINGS_INITIAL_WINDOW_SIZE we send: each stream may receive this much before an update."""
OUR_CONN_WINDOW = 16 << 20
"""The connection receive window we open at the start (and keep open)."""
MAX_UNREAD = 1 << 20
"""Bytes of ours the peer has not read (our write buffer) above which its PING or SETTINGS,
which need an answer, end the connection: a peer that sends but never reads is not served."""
MAX_STREAMS = 1000
"""Streams we open at once on one connection, whatever the peer allows."""
TRANSPARENT = -1
"""A result code: the server never processed the stream (GOAWAY above its last stream id,
REFUSED_STREAM), so the call may be sent again on another connection, as gRPC does."""

Result = tuple[int, str, bytes]
_U32 = struct.Struct(">I")
_PLAIN_HEADERS = hw.END_HEADERS | hw.PADDED | hw.PRIORITY_FLAG


class Stream:
    """One unary call in flight."""

    __slots__ = ("headers_done", "id", "parts", "pending", "recv_window", "send_window",
                 "size", "waiter")  # fmt: skip

    def __init__(self, sid: int, waiter: asyncio.Future[Result], send_window: int) -> None:
        self.id = sid
        self.waiter = waiter
        self.send_window = send_window
        self.recv_window = OUR_WINDOW
        self.pending = b""
        self.parts: list[bytes] = []
        self.size = 0
        self.headers_done = False


class H2Connection(asyncio.Protocol):
    """A client connection; ``on_change`` is called when a stream slot frees or it closes."""

    def __init__(self, on_change: Callable[[], None], max_message: int = gw.MAX_MESSAGE) -> None:
        self._on_change = on_change
        self._max_body = max_message + 5
        self.transport: asyncio.Transport | None = None
        self.streams: dict[int, Stream] = {}
        self.next_id = 1
        self.closed = False
        self.going_away = False
        self.error = ""
        self.peer_max_streams = MAX_STREAMS
        self.peer_window = hw.DEFAULT_WINDOW
        self.peer_frame = hw.DEFAULT_FRAME_SIZE
        self.send_window = hw.DEFAULT_WINDOW
        self._recv_window = OUR_CONN_WINDOW
        self._recv_unacked = 0
        self._table_update = True
        self._blocked: deque[Stream] = deque()
        self._reader = hw.FrameReader()
        self._blocks = hw.BlockDecoder()
        self._headers_in: tuple[int, int, list[bytes], int] | None = None
        self._out: list[bytes] = []
        self._flushing = False
        self._peer_settings = False
        self._loop = asyncio.get_running_loop()

    # -- what the client uses

    @property
    def usable(self) -> bool:
        """New streams may still be opened here."""
        return not (self.closed or self.going_away) and self.next_id <= hw.MAX_STREAM_ID

    @property
    def has_slot(self) -> bool:
        return len(self.streams) < self.peer_max_streams

    def open(self, block: bytes, payload: bytes, waiter: asyncio.Future[Result]) -> Stream:
        """Start a stream: HEADERS with ``block``, then ``payload`` as DATA with END_STREAM."""
        sid = self.next_id
        self.next_id += 2
        stream = Stream(sid, waiter, self.peer_window)
        self.streams[sid] = stream
        if self._table_update:
            block, self._table_update = hw.TABLE_SIZE_ZERO + block, False
        size = len(payload)
        if (
            len(block) <= self.peer_frame
            and 0 < size <= self.peer_frame
            and size <= self.send_window
            and size <= stream.send_window
        ):  # the usual case: one HEADERS and one DATA frame, in one write
            self.send_window -= size
            stream.send_window -= size
            self._write(
                hw.frame(hw.HEADERS, hw.END_HEADERS, sid, block)
                + hw.frame(hw.DATA, hw.END_STREAM, sid, payload)
            )
            return stream
        if len(block) <= self.peer_frame:
            self._write(hw.frame(hw.HEADERS, hw.END_HEADERS, sid, block))
        else:
            self._split_headers(sid, block)
        stream.pending = payload
        self._send_data(stream, first=True)
        return stream

    def reset(self, stream: Stream, code: int = hw.CANCEL) -> None:
        """Abandon a stream (deadline, cancellation): RST_STREAM, its slot is free."""
        if self.streams.pop(stream.id, None) is not None:
            if not self.closed:
                self._write(hw.rst_stream(stream.id, code))
            self._after_stream()

    def close(self) -> None:
        if not self.closed and self.transport is not None:
            self._write(hw.goaway(0, hw.NO_ERROR))
            self._flush()
            self.transport.close()
        self.closed = True

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)
        settings = hw.settings_frame(
            [
                (hw.HEADER_TABLE_SIZE, 0),
                (hw.ENABLE_PUSH, 0),
                (hw.INITIAL_WINDOW_SIZE, OUR_WINDOW),
                (hw.MAX_HEADER_LIST_SIZE, hw.OUR_HEADER_LIST),
            ]
        )
        grow = hw.window_update(0, OUR_CONN_WINDOW - hw.DEFAULT_WINDOW)
        self.transport.write(hw.PREFACE + settings + grow)

    def data_received(self, data: bytes) -> None:
        try:
            handlers = self._handlers
            for kind, flags, sid, payload in self._reader.feed(data):
                if self.closed:
                    return
                if not self._peer_settings:  # the server's preface is a SETTINGS frame
                    if kind != hw.SETTINGS or flags & hw.ACK:
                        raise ProtocolError(
                            hw.PROTOCOL_ERROR,
                            f"the server's first frame (type {kind}) is not SETTINGS",
                        )
                    self._peer_settings = True
                if self._headers_in is not None and kind != hw.CONTINUATION:
                    raise ProtocolError(hw.PROTOCOL_ERROR, "a header block is not continued")
                if kind == hw.HEADERS and flags & _PLAIN_HEADERS == hw.END_HEADERS and sid:
                    self._on_block(sid, flags, payload)  # the usual case, without detours
                    continue
                handler = handlers.get(kind)
                if handler is not None:  # unknown frame types are ignored (RFC 9113 §4.1)
                    handler(self, flags, sid, payload)
        except ProtocolError as err:
            self._fail(err.code, str(err))
            return
        if not self._flushing:
            self._flushing = True
            self._loop.call_soon(self._flush)

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        lost = f"connection lost: {exc}" if exc else "connection closed by the server"
        why = self.error or lost
        for stream in list(self.streams.values()):
            self._finish(stream, gw.UNAVAILABLE, why)
        self._blocked.clear()
        self._on_change()

    # -- sending

    def _write(self, data: bytes) -> None:
        self._out.append(data)
        if not self._flushing:
            self._flushing = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        """Send what was written since the last flush in one write. `data_received` schedules
        it too, behind the callers its answers wake: their next requests go out together."""
        self._flushing = False
        out, self._out = self._out, []
        if out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(out) if len(out) > 1 else out[0])

    def _split_headers(self, sid: int, block: bytes) -> None:
        size = self.peer_frame
        chunks = [block[i : i + size] for i in range(0, len(block), size)]
        for i, chunk in enumerate(chunks):
            kind = hw.HEADERS if i == 0 else hw.CONTINUATION
            self._write(hw.frame(kind, hw.END_HEADERS if i == len(chunks) - 1 else 0, sid, chunk))

    def _send_data(self, stream: Stream, first: bool = False) -> None:
        """As much of the stream's request as both send windows allow; the rest waits for a
        WINDOW_UPDATE or SETTINGS."""
        data = stream.pending
        while data or first:
            first = False
            n = min(len(data), self.peer_frame, self.send_window, stream.send_window)
            if n <= 0 and data:
                break
            chunk, data = (data, b"") if n == len(data) else (data[:n], data[n:])
            self.send_window -= n
            stream.send_window -= n
            self._write(hw.frame(hw.DATA, 0 if data else hw.END_STREAM, stream.id, chunk))
        stream.pending = data
        if data and (not self._blocked or self._blocked[-1] is not stream):
            self._blocked.append(stream)

    def _unblock(self) -> None:
        for _ in range(len(self._blocked)):
            if self.send_window <= 0:
                return
            stream = self._blocked.popleft()
            if stream.pending and self.streams.get(stream.id) is stream:
                self._send_data(stream)

    # -- ending streams

    def _finish(self, stream: Stream, code: int, message: str, body: bytes = b"") -> None:
        self.streams.pop(stream.id, None)
        if not stream.waiter.done():
            stream.waiter.set_result((code, message, body))
        self._after_stream()

    def _after_stream(self) -> None:
        if self.going_away and not self.streams and not self.closed:
            self.close()
        self._on_change()

    def _stream_error(self, stream: Stream, h2_code: int, code: int, message: str) -> None:
        self._write(hw.rst_stream(stream.id, h2_code))
        self._finish(stream, code, message)

    def _fail(self, h2_code: int, message: str) -> None:
        """A connection error: GOAWAY, close; every open stream fails."""
        self.error = f"HTTP/2 protocol error from the server: {message}"
        if self.transport is not None and not self.closed:
            self._write(hw.goaway(0, h2_code, message[:200]))  # we accept no streams
            self._flush()
            self.transport.close()
        self.closed = True
        for stream in list(self.streams.values()):
            self._finish(stream, gw.INTERNAL, self.error)

    def _known(self, sid: int) -> Stream | None:
        """The open stream ``sid``; None for one that closed; an idle or server-initiated
        stream id is a connection error."""
        stream = self.streams.get(sid)
        if stream is None and (sid == 0 or sid >= self.next_id or sid % 2 == 0):
            raise ProtocolError(hw.PROTOCOL_ERROR, f"frame on stream {sid}, never opened")
        return stream

    # -- receiving

    def _on_data(self, flags: int, sid: int, payload: bytes) -> None:
        n = len(payload)
        self._recv_window -= n
        if self._recv_window < 0:
            raise ProtocolError(hw.FLOW_CONTROL_ERROR, "DATA beyond the connection window")
        self._recv_unacked += n
        if self._recv_unacked >= OUR_CONN_WINDOW // 2:
            self._write(hw.window_update(0, self._recv_unacked))
            self._recv_window += self._recv_unacked
            self._recv_unacked = 0
        stream = self.streams.get(sid) or self._known(sid)
        if stream is None:
            return
        data = hw.strip_padding(flags, payload) if flags & hw.PADDED else payload
        stream.recv_window -= n
        stream.size += len(data)
        if not stream.headers_done:
            self._stream_error(stream, hw.PROTOCOL_ERROR, gw.INTERNAL, "DATA before HEADERS")
        elif stream.recv_window < 0:
            self._stream_error(
                stream, hw.FLOW_CONTROL_ERROR, gw.INTERNAL, "DATA beyond the stream window"
            )
        elif stream.size > self._max_body:
            self._stream_error(
                stream,
                hw.CANCEL,
                gw.RESOURCE_EXHAUSTED,
                f"response larger than the limit ({self._max_body - 5} bytes)",
            )
        elif flags & hw.END_STREAM:
            self._finish(stream, gw.INTERNAL, "the stream ended without trailers (no grpc-status)")
        else:
            if data:
                stream.parts.append(data)
            if stream.recv_window < OUR_WINDOW // 2:
                self._write(hw.window_update(sid, OUR_WINDOW - stream.recv_window))
                stream.recv_window = OUR_WINDOW

    def _on_headers(self, flags: int, sid: int, payload: bytes) -> None:
        if sid == 0:
            raise ProtocolError(hw.PROTOCOL_ERROR, "HEADERS on stream 0")
        block = (
            hw.strip_padding(flags, payload, priority=True)
            if flags & (hw.PADDED | hw.PRIORITY_FLAG)
            else payload
        )
        if flags & hw.END_HEADERS:
            self._on_block(sid, flags, block)
        else:
            self._headers_in = (sid, flags, [block], len(block))

    def _on_continuation(self, flags: int, sid: int, payload: bytes) -> None:
        if self._headers_in is None or self._headers_in[0] != sid:
            raise ProtocolError(hw.PROTOCOL_ERROR, f"CONTINUATION on stream {sid} out of place")
        _, first_flags, parts, size = self._headers_in
        parts.append(payload)
        size += len(payload)
        if size > hw.OUR_HEADER_LIST:
            raise ProtocolError(hw.PROTOCOL_ERROR, f"header block over {hw.OUR_HEADER_LIST} bytes")
        self._headers_in = (sid, first_flags, parts, size)
        if flags & hw.END_HEADERS:
            self._headers_in = None
            self._on_block(sid, first_flags, b"".join(parts))

    def _on_block(self, sid: int, flags: int, raw: bytes) -> None:
        block = self._blocks.decode(raw)  # always: the HPACK context must see every block
        stream = self.streams.get(sid) or self._known(sid)
        if stream is None:
            return
        end = flags & hw.END_STREAM
        if block.malformed:
            self._stream_error(stream, hw.PROTOCOL_ERROR, gw.INTERNAL, block.malformed)
        elif stream.headers_done:
            if not end:
                self._stream_error(
                    stream, hw.PROTOCOL_ERROR, gw.INTERNAL, "trailers without END_STREAM"
                )
            else:
                self._trailers(stream, block)
        else:
            self._response_headers(stream, block, bool(end))

    def _response_headers(self, stream: Stream, block: hw.Block, end: bool) -> None:
        status = block.status
        if status is None or len(status) != 3 or not status.isdigit():
            self._stream_error(
                stream, hw.PROTOCOL_ERROR, gw.INTERNAL, f"response :status {status!r} invalid"
            )
            return
        if status[0] == "1":  # informational: the final header block follows
            if end:
                self._stream_error(stream, hw.PROTOCOL_ERROR, gw.INTERNAL, "1xx with END_STREAM")
            return
        stream.headers_done = True
        if status != "200":
            message = f"Received http2 header with status: {status}"
            if end:
                self._finish(stream, gw.http_status_code(int(status)), message)
            else:
                self._stream_error(stream, hw.CANCEL, gw.http_status_code(int(status)), message)
            return
        ctype = block.content_type or ""
        if ctype != "application/grpc" and not ctype.startswith(
            ("application/grpc+", "application/grpc;")
        ):
            message = f"invalid content-type {ctype[:60]!r}"
            if end:
                self._finish(stream, gw.UNKNOWN, message)
            else:
                self._stream_error(stream, hw.CANCEL, gw.UNKNOWN, message)
        elif end:
            self._trailers(stream, block)  # trailers-only

    def _trailers(self, stream: Stream, block: hw.Block) -> None:
        raw = block.grpc_status
        if raw is None or not raw.isdigit() or len(raw) > 3:
            self._finish(stream, gw.UNKNOWN, f"grpc-status {raw!r} missing or invalid")
            return
        if raw == "0" and len(stream.parts) == 1:  # the usual answer: one whole message
            body = stream.parts[0]
            if body[0] == 0 and int.from_bytes(body[1:5]) == len(body) - 5:
                self._finish(stream, gw.OK, "", body[5:])
                return
        code = int(raw)
        if code != gw.OK:
            code = code if code < len(gw.CODE_NAMES) else gw.UNKNOWN
            self._finish(stream, code, gw.status_message(block.grpc_message))
            return
        parts = stream.parts
        message, why = gw.read_message(parts[0] if len(parts) == 1 else b"".join(parts))
        if message is None:
            self._finish(stream, gw.INTERNAL, why)
        else:
            self._finish(stream, gw.OK, "", message)

    def _on_rst_stream(self, flags: int, sid: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise ProtocolError(hw.FRAME_SIZE_ERROR, "RST_STREAM payload is not 4 bytes")
        stream = self._known(sid)
        if stream is None:
            return
        (code,) = _U32.unpack(payload)
        if code == gw.REFUSED_STREAM:
            self._finish(stream, TRANSPARENT, "the server refused the stream")
        else:
            self._finish(stream, gw.rst_stream_code(code), f"RST_STREAM with error code {code}")

    def _on_settings(self, flags: int, sid: int, payload: bytes) -> None:
        if sid:
            raise ProtocolError(hw.PROTOCOL_ERROR, "SETTINGS on a stream")
        if flags & hw.ACK:
            if payload:
                raise ProtocolError(hw.FRAME_SIZE_ERROR, "SETTINGS ACK with a payload")
            return
        if len(payload) % 6:
            raise ProtocolError(hw.FRAME_SIZE_ERROR, "SETTINGS payload not a multiple of 6")
        for at in range(0, len(payload), 6):
            key, value = struct.unpack_from(">HI", payload, at)
            self._setting(key, value)
        self._check_reading("SETTINGS")
        self._write(hw.frame(hw.SETTINGS, hw.ACK, 0))
        self._unblock()
        self._on_change()

    def _setting(self, key: int, value: int) -> None:
        if key == hw.HEADER_TABLE_SIZE:
            self._table_update = True  # we keep our table at 0 and say so again
        elif key == hw.ENABLE_PUSH and value != 0:
            raise ProtocolError(hw.PROTOCOL_ERROR, f"server sent SETTINGS_ENABLE_PUSH={value}")
        elif key == hw.MAX_CONCURRENT_STREAMS:
            self.peer_max_streams = min(value, MAX_STREAMS)
        elif key == hw.INITIAL_WINDOW_SIZE:
            if value > hw.MAX_WINDOW:
                raise ProtocolError(hw.FLOW_CONTROL_ERROR, f"initial window {value} too large")
            delta, self.peer_window = value - self.peer_window, value
            for stream in self.streams.values():
                stream.send_window += delta
                if stream.send_window > hw.MAX_WINDOW:
                    raise ProtocolError(hw.FLOW_CONTROL_ERROR, "stream window over 2^31-1")
        elif key == hw.MAX_FRAME_SIZE:
            if not hw.DEFAULT_FRAME_SIZE <= value <= 2**24 - 1:
                raise ProtocolError(hw.PROTOCOL_ERROR, f"SETTINGS_MAX_FRAME_SIZE={value}")
            self.peer_frame = value

    def _on_ping(self, flags: int, sid: int, payload: bytes) -> None:
        if sid:
            raise ProtocolError(hw.PROTOCOL_ERROR, "PING on a stream")
        if len(payload) != 8:
            raise ProtocolError(hw.FRAME_SIZE_ERROR, "PING payload is not 8 bytes")
        if not flags & hw.ACK:
            self._check_reading("PING")
            self._write(hw.frame(hw.PING, hw.ACK, 0, payload))

    def _check_reading(self, what: str) -> None:
        if self.transport is not None and self.transport.get_write_buffer_size() > MAX_UNREAD:
            raise ProtocolError(
                hw.ENHANCE_YOUR_CALM,
                f"{what} keeps coming but the server reads none of our answers",
            )

    def _on_goaway(self, flags: int, sid: int, payload: bytes) -> None:
        if sid:
            raise ProtocolError(hw.PROTOCOL_ERROR, "GOAWAY on a stream")
        if len(payload) < 8:
            raise ProtocolError(hw.FRAME_SIZE_ERROR, "GOAWAY payload under 8 bytes")
        last, code = struct.unpack_from(">II", payload)
        last &= hw.MAX_STREAM_ID
        debug = payload[8:208].decode("utf-8", "replace")
        self.going_away = True
        self.error = f"the server sent GOAWAY (error code {code}{': ' + debug if debug else ''})"
        for stream in [s for s in self.streams.values() if s.id > last]:
            self._finish(stream, TRANSPARENT, self.error)
        self._after_stream()

    def _on_window_update(self, flags: int, sid: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise ProtocolError(hw.FRAME_SIZE_ERROR, "WINDOW_UPDATE payload is not 4 bytes")
        increment = _U32.unpack(payload)[0] & hw.MAX_WINDOW
        if sid == 0:
            if increment == 0:
                raise ProtocolError(hw.PROTOCOL_ERROR, "connection WINDOW_UPDATE of 0")
            self.send_window += increment
            if self.send_window > hw.MAX_WINDOW:
                raise ProtocolError(hw.FLOW_CONTROL_ERROR, "connection window over 2^31-1")
        else:
            stream = self._known(sid)
            if stream is None:
                return
            stream.send_window += increment
            if increment == 0 or stream.send_window > hw.MAX_WINDOW:
                self._stream_error(
                    stream, hw.PROTOCOL_ERROR if increment == 0 else hw.FLOW_CONTROL_ERROR,
                    gw.INTERNAL, f"invalid stream WINDOW_UPDATE of {increment}",
                )  # fmt: skip
                return
        self._unblock()

    def _on_push_promise(self, flags: int, sid: int, payload: bytes) -> None:
        raise ProtocolError(hw.PROTOCOL_ERROR, "PUSH_PROMISE although push is disabled")

    def _on_priority(self, flags: int, sid: int, payload: bytes) -> None:
        if sid == 0 or len(payload) != 5:
            raise ProtocolError(hw.PROTOCOL_ERROR, "invalid PRIORITY frame")

    _handlers: dict[int, Callable[[H2Connection, int, int, bytes], None]] = {
        hw.DATA: _on_data,
        hw.HEADERS: _on_headers,
        hw.PRIORITY: _on_priority,
        hw.RST_STREAM: _on_rst_stream,
        hw.SETTINGS: _on_settings,
        hw.PUSH_PROMISE: _on_push_promise,
        hw.PING: _on_ping,
        hw.GOAWAY: _on_goaway,
        hw.WINDOW_UPDATE: _on_window_update,
        hw.CONTINUATION: _on_continuation,
    }
