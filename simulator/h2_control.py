"""The connection-level half of the kit's HTTP/2 client connection (`simulator.h2_conn` adds
the streams' frames): the state both halves share (the peer's settings, the send windows, the
open streams), writing frames, ending streams, and the control frames SETTINGS, PING, GOAWAY,
WINDOW_UPDATE, RST_STREAM, PRIORITY and PUSH_PROMISE."""

from __future__ import annotations

import abc
import asyncio
import struct
from collections.abc import Callable

from simulator import grpc_wire as gw
from simulator import h2_wire as hw
from simulator.h2_wire import ProtocolError

OUR_WINDOW = 1 << 20
"""SETTINGS_INITIAL_WINDOW_SIZE we send: each stream may receive this much before an update."""
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


class H2Control(asyncio.Protocol, abc.ABC):
    """The shared state and the control frames; ``on_change`` is called when a stream slot
    frees, the peer's settings change, or the connection closes. Abstract: `H2Connection`
    adds the streams' half, including `_unblock`."""

    def __init__(self, on_change: Callable[[], None]) -> None:
        self._on_change = on_change
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
        self._table_update = True
        self._out: list[bytes] = []
        self._flushing = False
        self._loop = asyncio.get_running_loop()

    def close(self) -> None:
        if not self.closed and self.transport is not None:
            self._write(hw.goaway(0, hw.NO_ERROR))
            self._flush()
            self.transport.close()
        self.closed = True

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

    def _finish(self, stream: Stream, code: int, message: str, body: bytes = b"") -> None:
        self.streams.pop(stream.id, None)
        if not stream.waiter.done():
            stream.waiter.set_result((code, message, body))
        self._after_stream()

    def _after_stream(self) -> None:
        draining = self.going_away or self.next_id > hw.MAX_STREAM_ID  # no new streams here
        if draining and not self.streams and not self.closed:
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

    @abc.abstractmethod
    def _unblock(self) -> None:
        """Send the request data that waited for a window (the stream half does it)."""

    # -- control frames

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
