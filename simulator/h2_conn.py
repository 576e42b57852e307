"""One HTTP/2 connection of the kit's gRPC client (`simulator.h2_grpc`), an `asyncio.Protocol`:
many concurrent unary streams, each ending in one result ``(grpc code, message, response
message)``. This half opens streams, sends their requests within the peer's windows and reads
their HEADERS, CONTINUATION and DATA; `simulator.h2_control` has the connection-level half."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import cast

from simulator import grpc_wire as gw
from simulator import h2_wire as hw
from simulator.h2_control import (
    MAX_STREAMS,
    MAX_UNREAD,
    OUR_WINDOW,
    TRANSPARENT,
    H2Control,
    Result,
    Stream,
)
from simulator.h2_wire import ProtocolError

__all__ = ["MAX_STREAMS", "MAX_UNREAD", "TRANSPARENT", "H2Connection", "Result", "Stream"]

OUR_CONN_WINDOW = 16 << 20
"""The connection receive window we open at the start (and keep open)."""
_PLAIN_HEADERS = hw.END_HEADERS | hw.PADDED | hw.PRIORITY_FLAG


class H2Connection(H2Control):
    """A client connection; ``on_change`` is called when a stream slot frees or it closes."""

    def __init__(self, on_change: Callable[[], None], max_message: int = gw.MAX_MESSAGE) -> None:
        super().__init__(on_change)
        self._max_body = max_message + 5
        self._recv_window = OUR_CONN_WINDOW
        self._recv_unacked = 0
        self._blocked: deque[Stream] = deque()
        self._reader = hw.FrameReader()
        self._blocks = hw.BlockDecoder()
        self._headers_in: tuple[int, int, list[bytes], int] | None = None
        self._peer_settings = False

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
        refused = gw.refused_head(status, block.content_type)
        if refused is not None:  # not a gRPC answer: the stream ends here
            if end:
                self._finish(stream, *refused)
            else:
                self._stream_error(stream, hw.CANCEL, *refused)
        elif end:
            self._trailers(stream, block)  # trailers-only

    def _trailers(self, stream: Stream, block: hw.Block) -> None:
        parts = stream.parts
        if block.grpc_status == "0" and len(parts) == 1:  # the usual answer: one whole message
            body = parts[0]
            if body[0] == 0 and int.from_bytes(body[1:5]) == len(body) - 5:
                self._finish(stream, gw.OK, "", body[5:])
                return
        body = parts[0] if len(parts) == 1 else b"".join(parts)
        self._finish(stream, *gw.unary_result(block.grpc_status, block.grpc_message, body))

    _handlers: dict[int, Callable[[H2Connection, int, int, bytes], None]] = {
        hw.DATA: _on_data,
        hw.HEADERS: _on_headers,
        hw.PRIORITY: H2Control._on_priority,
        hw.RST_STREAM: H2Control._on_rst_stream,
        hw.SETTINGS: H2Control._on_settings,
        hw.PUSH_PROMISE: H2Control._on_push_promise,
        hw.PING: H2Control._on_ping,
        hw.GOAWAY: H2Control._on_goaway,
        hw.WINDOW_UPDATE: H2Control._on_window_update,
        hw.CONTINUATION: _on_continuation,
    }
