"""The kit's own HTTP/2 gRPC client against hostile HTTP/2 peers: protocol violations, a
preface without SETTINGS, a peer that never reads, hung calls, oversized answers (a clear error
at once, never a hang, bounded memory), and odd but valid framing read correctly."""

from __future__ import annotations

import asyncio
import time

import pytest

from simulator import grpc_wire as gw
from simulator import h2_wire as hw
from simulator.h2_conn import MAX_UNREAD, H2Connection, Stream
from simulator.h2_grpc import COMPACT_AT, Deadlines
from tests.simulator.h2_peer import (
    OK_HEADERS,
    Peer,
    PeerConn,
    call,
    failure,
    headers,
    reply,
    run,
)

# -- hostile peers: a clear error at once, never a hang


def _continuation_flood(sid: int) -> bytes:
    first = hw.frame(hw.HEADERS, 0, sid, hw.encode_block([(":status", "200")]))
    return first + hw.frame(hw.CONTINUATION, 0, sid, b"\x00" * 16_000) * 6


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (lambda sid: b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n", "over 16384"),
        (lambda sid: b"\x00\x40\x01\x00\x00\x00\x00\x00\x01" + b"\x00" * 16385, "over 16384"),
        (_continuation_flood, "header block over"),
        (lambda sid: hw.frame(hw.HEADERS, 4, sid, b"\xff\xff\xff\xff\xff\xff\x7f"), "undecodable"),
        (lambda sid: hw.frame(hw.PUSH_PROMISE, 4, sid, b"\x00\x00\x00\x02"), "PUSH_PROMISE"),
        (lambda sid: hw.frame(hw.DATA, 0, 99, b"x"), "never opened"),
        (lambda sid: hw.frame(hw.SETTINGS, 0, 0, b"\x00\x05\x00\x00\x00\x01"), "MAX_FRAME_SIZE"),
        (lambda sid: hw.frame(hw.SETTINGS, 0, 0, b"\x00\x02\x00\x00\x00\x01"), "ENABLE_PUSH"),
        (lambda sid: hw.frame(hw.SETTINGS, 0, 0, b"\x00\x04\x80\x00\x00\x00"), "initial window"),
        (lambda sid: hw.frame(hw.SETTINGS, 0, 0, b"\x00"), "multiple of 6"),
        (lambda sid: hw.frame(hw.PING, 0, 0, b"short"), "PING"),
        (lambda sid: hw.window_update(0, hw.MAX_WINDOW), "over 2^31-1"),
        (lambda sid: hw.window_update(0, 0), "WINDOW_UPDATE of 0"),
        (lambda sid: hw.frame(hw.GOAWAY, 0, 0, b"\x00"), "GOAWAY"),
        (lambda sid: hw.frame(hw.CONTINUATION, 4, sid, b""), "out of place"),
        (lambda sid: hw.frame(hw.HEADERS, 0, sid, b"") + hw.frame(hw.PING, 0, 0, b"x" * 8),
         "not continued"),
        (lambda sid: hw.frame(hw.DATA, hw.PADDED, sid, b"\x09ab"), "padding"),
    ],
)  # fmt: skip
def test_protocol_violations_end_the_connection(answer, words: str) -> None:
    async def handler(conn: PeerConn) -> None:
        sid, _ = await conn.request()
        if words == "padding":  # DATA must follow headers to reach the padding check
            conn.send(headers(sid, OK_HEADERS))
        conn.send(answer(sid))
        await conn.until(hw.GOAWAY)  # the client says why it closes
        await conn.reader.read()

    async def main() -> None:
        async with Peer(handler) as peer:
            started = time.monotonic()
            err = await failure(peer.port, timeout=10)
            assert err.code == gw.INTERNAL and words in err.message, err
            assert time.monotonic() - started < 5
            await asyncio.sleep(0.05)
            assert not peer.errors

    run(main())


def test_a_server_preface_without_settings_is_refused() -> None:
    async def handler(conn: PeerConn) -> None:
        sid, _ = await conn.request()
        conn.send(reply(sid, b"no settings first"))
        await conn.until(hw.GOAWAY)

    async def main() -> None:
        async with Peer(handler, preface=False) as peer:
            err = await failure(peer.port)
            assert err.code == gw.INTERNAL and "is not SETTINGS" in err.message
            await asyncio.sleep(0.05)
            assert not peer.errors

    run(main())


class _StuckTransport(asyncio.Transport):
    """A transport whose peer reads nothing: its write buffer only grows."""

    def __init__(self) -> None:
        super().__init__()
        self.written = 0
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += len(data)

    def get_write_buffer_size(self) -> int:
        return self.written

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


def test_a_peer_that_pings_but_never_reads_is_dropped() -> None:
    async def main() -> None:
        conn = H2Connection(lambda: None)
        transport = _StuckTransport()
        conn.connection_made(transport)
        conn.data_received(hw.settings_frame([]))
        ping = hw.frame(hw.PING, 0, 0, b"12345678")
        for _ in range(MAX_UNREAD // 17 + 10):
            conn.data_received(ping * 64)
            conn._flush()
            if conn.closed:
                break
        assert conn.closed and transport.closed and "reads none" in conn.error
        assert transport.written < MAX_UNREAD + 64 * 17 + 200

    run(main())


def test_deadline_queue_stays_bounded_behind_a_hung_call() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        conn = H2Connection(lambda: None)
        deadlines = Deadlines()
        hung = Stream(1, loop.create_future(), 0)
        deadlines.add(loop.time() + 600, conn, hung)
        for i in range(20_000):
            ended = Stream(3 + 2 * i, loop.create_future(), 0)
            ended.waiter.set_result((0, "", b""))
            deadlines.add(loop.time() + 600, conn, ended)
        assert len(deadlines._queue) <= 2 * COMPACT_AT
        assert deadlines._queue[0][2] is hung
        deadlines.clear()

    run(main())


def test_oversized_response_is_refused() -> None:
    async def handler(conn: PeerConn) -> None:
        sid, _ = await conn.request()
        conn.send(headers(sid, OK_HEADERS))
        for _ in range(10):
            conn.send(hw.frame(hw.DATA, 0, sid, b"z" * 1000))
        await conn.until(hw.RST_STREAM)

    async def main() -> None:
        async with Peer(handler) as peer:
            err = await failure(peer.port, max_message=4000)
            assert err.code == gw.RESOURCE_EXHAUSTED and "4000" in err.message
            await asyncio.sleep(0.05)
            assert not peer.errors

    run(main())


def test_odd_but_valid_framing_is_read() -> None:
    """Padding, priority fields, a header block in CONTINUATION frames, a 1xx, unknown frame
    types, and the answer arriving one byte at a time."""

    async def handler(conn: PeerConn) -> None:
        sid, _ = await conn.request()
        block = hw.encode_block([*OK_HEADERS, ("x-pad", "p" * 40)])
        padded_headers = hw.frame(
            hw.HEADERS, hw.PADDED | hw.PRIORITY_FLAG, sid,
            b"\x03" + b"\x00\x00\x00\x00\x10" + block[:20] + b"\x00\x00\x00",
        )  # fmt: skip
        wire = (
            headers(sid, [(":status", "100")])
            + hw.frame(0xEE, 0, 0, b"unknown")
            + padded_headers
            + hw.frame(hw.CONTINUATION, hw.END_HEADERS, sid, block[20:])
            + hw.frame(hw.DATA, hw.PADDED, sid, b"\x02" + gw.frame_message(b"pad") + b"\x00\x00")
            + headers(sid, [("grpc-status", "0")], end=True)
        )
        for i in range(len(wire)):
            conn.send(wire[i : i + 1])
            await conn.writer.drain()

    async def main() -> None:
        async with Peer(handler) as peer:
            assert await call(peer.port) == b"pad"
            assert not peer.errors

    run(main())
