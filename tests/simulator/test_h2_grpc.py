"""The kit's own HTTP/2 gRPC client (`simulator.h2_grpc`) against a scripted HTTP/2 peer
(`tests.simulator.h2_peer`): the wire it sends, flow control with tiny windows, GOAWAY,
RST_STREAM, the peer's stream limit, gRPC statuses and deadlines; and against a real grpc.aio
server. Hostile peers are in `test_h2_grpc_hostile`."""

from __future__ import annotations

import asyncio
import struct
import time

import grpc
import pytest
from hpack import Decoder

from simulator import ScriptedAdapter
from simulator import grpc_wire as gw
from simulator import h2_wire as hw
from simulator.h2_grpc import GrpcChannel, GrpcError
from tests.simulator.h2_peer import (
    OK_HEADERS,
    PATH,
    Peer,
    PeerConn,
    answer_all,
    call,
    failure,
    headers,
    reply,
    run,
)

# -- the wire


def test_request_wire_and_round_trip() -> None:
    async def main() -> None:
        async with Peer(answer_all) as peer:
            channel = GrpcChannel("127.0.0.1", peer.port, metadata=(("x-one", "1"),))
            assert await channel.unary(PATH, b"abc", timeout=2.0) == b"abc"
            assert await channel.unary(PATH, b"", timeout=2.0) == b""
            await channel.close()
            (conn,) = peer.conns  # both calls on one connection, streams 1 and 3
            first, second = conn.frames(hw.HEADERS)
            assert (first[2], second[2]) == (1, 3)
            assert first[3][:1] == hw.TABLE_SIZE_ZERO and second[3][:1] != hw.TABLE_SIZE_ZERO
            sent = conn.request_headers[1]
            assert sent[":method"] == "POST" and sent[":scheme"] == "http"
            assert sent[":path"] == PATH and sent[":authority"] == f"127.0.0.1:{peer.port}"
            assert sent["content-type"] == "application/grpc" and sent["te"] == "trailers"
            assert sent["x-one"] == "1"
            assert sent["grpc-timeout"] == "2000m"
            (settings, *_) = conn.frames(hw.SETTINGS)
            ours = dict(struct.iter_unpack(">HI", settings[3]))
            assert ours[hw.HEADER_TABLE_SIZE] == 0 and ours[hw.ENABLE_PUSH] == 0
            assert conn.frames(hw.SETTINGS)[1][1] == hw.ACK  # the peer's SETTINGS acknowledged
            data = [f for f in conn.frames(hw.DATA) if f[2] == 1]
            assert data == [(hw.DATA, hw.END_STREAM, 1, b"\x00\x00\x00\x00\x03abc")]
            assert not peer.errors

    run(main())


def test_encoded_fields_decode_and_never_index() -> None:
    fields = [(":method", "POST"), (":path", "/a/B"), ("te", "trailers"), ("x-ünï", "v")]
    block = hw.encode_block(fields)
    decoder = Decoder()
    assert [(str(k), str(v)) for k, v in decoder.decode(block)] == fields
    assert len(decoder.header_table.dynamic_entries) == 0
    long = "v" * 300  # multi-byte HPACK integers
    decoded = Decoder().decode(hw.encode_block([("x-long", long)]))
    assert [(str(k), str(v)) for k, v in decoded] == [("x-long", long)]
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        hw.encode_field("x-bad", "a\r\nb")
    with pytest.raises(ValueError, match="metadata name"):
        GrpcChannel("127.0.0.1", 1, metadata=(("Te", "x"),))


def test_message_framing_and_timeout_values() -> None:
    assert gw.frame_message(b"ab") == b"\x00\x00\x00\x00\x02ab"
    assert gw.read_message(b"\x00\x00\x00\x00\x02ab") == (b"ab", "")
    assert gw.read_message(b"\x00\x00\x00")[0] is None
    assert "compressed" in gw.read_message(b"\x01\x00\x00\x00\x00")[1]
    assert "more than one" in gw.read_message(b"\x00\x00\x00\x00\x00\x00")[1]
    assert "truncated" in gw.read_message(b"\x00\x00\x00\x00\x09ab")[1]
    assert gw.timeout_value(0.2) == "200m" and gw.timeout_value(0.19999) == "200m"
    assert gw.timeout_value(600.0) == "600000m" and gw.timeout_value(1e-9) == "1m"
    assert gw.timeout_value(10**6) == "1000000S" and gw.timeout_value(10**9) == "16666667M"
    assert all(len(gw.timeout_value(x)) <= 9 for x in (1e-9, 1, 99.5, 1e5, 1e7, 1e12))
    assert gw.status_message("a%20b%") == "a b%"
    assert len(gw.status_message("x" * 5000)) == gw.MAX_STATUS_MESSAGE


def test_frame_reader_splits_and_bounds() -> None:
    reader = hw.FrameReader()
    wire = hw.frame(hw.PING, 0, 0, b"12345678") + hw.frame(hw.DATA, 1, 3, b"xy")
    got = [f for i in range(len(wire)) for f in reader.feed(wire[i : i + 1])]
    assert got == [(hw.PING, 0, 0, b"12345678"), (hw.DATA, 1, 3, b"xy")]
    with pytest.raises(hw.ProtocolError, match="over 16384"):
        hw.FrameReader().feed(b"\x00\x40\x01" + b"\x00" * 6)


def test_block_cache_is_bounded() -> None:
    blocks = hw.BlockDecoder()
    for i in range(hw.BLOCK_CACHE + 50):
        assert blocks.decode(hw.encode_block([("x-n", str(i))])).headers == (("x-n", str(i)),)
    assert len(blocks._cache) == hw.BLOCK_CACHE
    assert blocks.decode(hw.encode_block([(":status", "200")])).status == "200"
    assert "lowercase" in blocks.decode(hw.encode_block([("X-Up", "1")])).malformed
    with pytest.raises(hw.ProtocolError, match="undecodable"):
        blocks.decode(b"\xff\xff\xff\xff\xff\xff\xff\xff\x7f")


# -- flow control


def test_tiny_stream_window_is_respected() -> None:
    async def handler(conn: PeerConn) -> None:
        sid, data = await conn.request()  # the first call (8 bytes fit the window of 10)
        conn.send(reply(sid, data[5:]))
        sid = (await conn.until(hw.HEADERS))[2]
        sent = 0
        for grant in (0, 50, 100):
            if grant:
                conn.send(hw.window_update(sid, grant))
            while sent < 10 + grant and sent < 105:  # each window is used up, never exceeded
                kind, flags, _, payload = await conn.frame()
                if kind == hw.DATA:
                    sent += len(payload)
            assert sent == min(10 + grant, 105) if grant < 100 else sent == 105
        assert flags & hw.END_STREAM
        conn.send(reply(sid, b"done"))
        await conn.reader.read()

    async def main() -> None:
        async with Peer(handler, [(hw.INITIAL_WINDOW_SIZE, 10)]) as peer:
            channel = GrpcChannel("127.0.0.1", peer.port)
            assert await channel.unary(PATH, b"abc", timeout=5) == b"abc"
            assert await channel.unary(PATH, b"x" * 100, timeout=5) == b"done"
            await channel.close()
            assert not peer.errors
            frames = [f for f in peer.conns[0].frames(hw.DATA) if f[2] == 3]
            assert [len(f[3]) for f in frames] == [10, 50, 45]

    run(main())


def test_connection_window_and_frame_size_are_respected() -> None:
    big = b"y" * 70_000  # more than the connection window (65,535) and 4 frames

    async def handler(conn: PeerConn) -> None:
        sid = (await conn.until(hw.HEADERS))[2]
        got = b""
        while len(got) < hw.DEFAULT_WINDOW:
            kind, _, _, payload = await conn.frame()
            if kind == hw.DATA:
                assert len(payload) <= hw.DEFAULT_FRAME_SIZE
                got += payload
        await asyncio.sleep(0.1)
        conn.writer.write(b"")
        assert len(got) == hw.DEFAULT_WINDOW  # stopped at the connection window
        conn.send(hw.window_update(0, 10_000))
        while True:
            kind, flags, _, payload = await conn.frame()
            if kind == hw.DATA:
                got += payload
                if flags & hw.END_STREAM:
                    break
        assert got[5:] == big
        conn.send(reply(sid, b"ok"))
        await conn.reader.read()

    async def main() -> None:
        settings = [(hw.INITIAL_WINDOW_SIZE, 1 << 20)]
        async with Peer(handler, settings) as peer:
            channel = GrpcChannel("127.0.0.1", peer.port)
            await asyncio.sleep(0.1)  # (the peer's SETTINGS arrive first)
            assert await channel.unary(PATH, big, timeout=5) == b"ok"
            await channel.close()
            assert not peer.errors

    run(main())


def test_peer_stream_limit_queues_calls() -> None:
    open_now, most = 0, 0

    async def handler(conn: PeerConn) -> None:
        nonlocal open_now, most
        pending: list[int] = []
        while True:
            sid, _ = await conn.request()
            open_now += 1
            most = max(most, open_now)
            pending.append(sid)
            if len(pending) == 2:
                await asyncio.sleep(0.02)
                for s in pending:
                    conn.send(reply(s, b"r"))
                    open_now -= 1
                pending.clear()

    async def main() -> None:
        async with Peer(handler, [(hw.MAX_CONCURRENT_STREAMS, 2)]) as peer:
            channel = GrpcChannel("127.0.0.1", peer.port)
            await asyncio.sleep(0.1)
            got = await asyncio.gather(*(channel.unary(PATH, b"q", timeout=5) for _ in range(8)))
            await channel.close()
            assert got == [b"r"] * 8 and most == 2 and not peer.errors

    run(main())


def test_ping_is_acknowledged() -> None:
    async def handler(conn: PeerConn) -> None:
        sid, _ = await conn.request()
        conn.send(hw.frame(hw.PING, 0, 0, b"pingpong"))
        _, flags, _, payload = await conn.until(hw.PING)
        assert (flags, payload) == (hw.ACK, b"pingpong")
        conn.send(reply(sid, b"r"))

    async def main() -> None:
        async with Peer(handler) as peer:
            assert await call(peer.port) == b"r"
            assert not peer.errors

    run(main())


# -- GOAWAY, RST_STREAM, reconnecting


def test_goaway_above_the_stream_is_retried_on_a_new_connection() -> None:
    async def handler(conn: PeerConn) -> None:
        sid, _ = await conn.request()
        if len(peer.conns) == 1:
            conn.send(hw.goaway(0, hw.NO_ERROR, "restarting"))
            await conn.reader.read()
        else:
            conn.send(reply(sid, b"second"))

    async def main() -> None:
        async with peer:
            assert await call(peer.port) == b"second"
            assert len(peer.conns) == 2 and not peer.errors

    peer = Peer(handler)
    run(main())


def test_goaway_every_time_gives_unavailable() -> None:
    async def handler(conn: PeerConn) -> None:
        await conn.request()
        conn.send(hw.goaway(0, hw.NO_ERROR, "bye"))

    async def main() -> None:
        async with Peer(handler) as peer:
            err = await failure(peer.port)
            assert err.code == gw.UNAVAILABLE and "GOAWAY" in err.message and "bye" in err.message
            assert len(peer.conns) == 2  # one transparent retry, no more

    run(main())


def test_goaway_below_the_stream_lets_it_finish_then_reconnects() -> None:
    async def handler(conn: PeerConn) -> None:
        sid, _ = await conn.request()
        conn.send(hw.goaway(sid, hw.NO_ERROR) + reply(sid, b"last"))
        await conn.reader.read()

    async def main() -> None:
        async with Peer(handler) as peer:
            channel = GrpcChannel("127.0.0.1", peer.port)
            assert await channel.unary(PATH, b"", timeout=5) == b"last"
            assert await channel.unary(PATH, b"", timeout=5) == b"last"
            await channel.close()
            assert len(peer.conns) == 2 and not peer.errors

    run(main())


@pytest.mark.parametrize(
    ("code", "expected"),
    [(hw.CANCEL, gw.CANCELLED), (0xB, gw.RESOURCE_EXHAUSTED), (hw.INTERNAL_ERROR, gw.INTERNAL)],
)
def test_rst_stream_maps_to_grpc(code: int, expected: int) -> None:
    async def handler(conn: PeerConn) -> None:
        sid, _ = await conn.request()
        conn.send(hw.rst_stream(sid, code))
        await conn.reader.read()

    async def main() -> None:
        async with Peer(handler) as peer:
            assert (await failure(peer.port)).code == expected

    run(main())


def test_refused_stream_is_retried() -> None:
    async def handler(conn: PeerConn) -> None:
        sid, _ = await conn.request()
        conn.send(hw.rst_stream(sid, gw.REFUSED_STREAM))
        sid, _ = await conn.request()
        conn.send(reply(sid, b"again"))

    async def main() -> None:
        async with Peer(handler) as peer:
            assert await call(peer.port) == b"again"

    run(main())


def test_stream_ids_run_out_then_a_new_connection() -> None:
    async def main() -> None:
        async with Peer(answer_all) as peer:
            channel = GrpcChannel("127.0.0.1", peer.port)
            assert await channel.unary(PATH, b"1", timeout=5) == b"1"
            first = channel._conn
            assert first is not None
            first.next_id = hw.MAX_STREAM_ID  # the last id a client may use
            assert await channel.unary(PATH, b"2", timeout=5) == b"2"
            assert await channel.unary(PATH, b"3", timeout=5) == b"3"
            assert first.closed and channel._conn is not first and len(peer.conns) == 2
            assert peer.conns[0].frames(hw.HEADERS)[-1][2] == hw.MAX_STREAM_ID
            await channel.close()

    run(main())


def test_closed_connection_is_unavailable_and_the_next_call_reconnects() -> None:
    async def handler(conn: PeerConn) -> None:
        sid, _ = await conn.request()
        if len(peer.conns) == 1:
            conn.writer.close()
        else:
            conn.send(reply(sid, b"back"))

    async def main() -> None:
        async with peer:
            channel = GrpcChannel("127.0.0.1", peer.port)
            with pytest.raises(GrpcError) as info:
                await channel.unary(PATH, b"", timeout=5)
            assert info.value.code == gw.UNAVAILABLE
            assert await channel.unary(PATH, b"", timeout=5) == b"back"
            await channel.close()

    peer = Peer(handler)
    run(main())


def test_refused_connection_is_unavailable() -> None:
    async def main() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        err = await failure(port)
        assert err.code == gw.UNAVAILABLE and "failed to connect" in err.message

    run(main())


# -- gRPC statuses and deadlines


@pytest.mark.parametrize(
    ("status", "expected"),
    [("404", gw.UNIMPLEMENTED), ("503", gw.UNAVAILABLE), ("401", gw.UNAUTHENTICATED),
     ("429", gw.UNAVAILABLE), ("400", gw.INTERNAL), ("418", gw.UNKNOWN)],
)  # fmt: skip
def test_http_status_maps_to_grpc(status: str, expected: int) -> None:
    async def handler(conn: PeerConn) -> None:
        sid, _ = await conn.request()
        conn.send(headers(sid, [(":status", status), ("content-type", "text/plain")], end=True))

    async def main() -> None:
        async with Peer(handler) as peer:
            err = await failure(peer.port)
            assert err.code == expected and status in err.message

    run(main())


def test_trailers_only_and_grpc_message() -> None:
    async def handler(conn: PeerConn) -> None:
        sid, _ = await conn.request()
        fields = [*OK_HEADERS, ("grpc-status", "7"), ("grpc-message", "no%20way%21")]
        conn.send(headers(sid, fields, end=True))

    async def main() -> None:
        async with Peer(handler) as peer:
            err = await failure(peer.port)
            assert (err.code, err.message, err.name) == (7, "no way!", "PERMISSION_DENIED")

    run(main())


@pytest.mark.parametrize(
    ("answer", "code", "words"),
    [
        (lambda sid: headers(sid, OK_HEADERS) + headers(sid, [("grpc-status", "0")], end=True),
         gw.INTERNAL, "no whole message"),
        (lambda sid: headers(sid, OK_HEADERS) + hw.frame(hw.DATA, hw.END_STREAM, sid, b""),
         gw.INTERNAL, "without trailers"),
        (lambda sid: headers(sid, [*OK_HEADERS, ("grpc-status", "x")], end=True),
         gw.UNKNOWN, "grpc-status"),
        (lambda sid: headers(sid, [(":status", "200"), ("content-type", "text/html")], end=True),
         gw.UNKNOWN, "content-type"),
        (lambda sid: headers(sid, [("content-type", "application/grpc")], end=True),
         gw.INTERNAL, ":status"),
        (lambda sid: headers(sid, [*OK_HEADERS, ("grpc-status", "99")], end=True),
         gw.UNKNOWN, ""),
        (lambda sid: hw.frame(hw.DATA, 0, sid, b"\x00\x00\x00\x00\x00"),
         gw.INTERNAL, "DATA before HEADERS"),
    ],
)  # fmt: skip
def test_broken_answers_have_clear_statuses(answer, code: int, words: str) -> None:
    async def handler(conn: PeerConn) -> None:
        sid, _ = await conn.request()
        conn.send(answer(sid))
        await conn.reader.read()

    async def main() -> None:
        async with Peer(handler) as peer:
            err = await failure(peer.port)
            assert err.code == code and words in err.message

    run(main())


def test_deadline_resets_the_stream() -> None:
    async def handler(conn: PeerConn) -> None:
        sid, _ = await conn.request()
        _, _, got_sid, payload = await conn.until(hw.RST_STREAM)
        assert got_sid == sid and payload == struct.pack(">I", hw.CANCEL)

    async def main() -> None:
        async with Peer(handler) as peer:
            started = time.monotonic()
            err = await failure(peer.port, timeout=0.2)
            assert err.code == gw.DEADLINE_EXCEEDED
            assert 0.19 < time.monotonic() - started < 2
            await asyncio.sleep(0.05)
            assert not peer.errors and peer.conns[0].frames(hw.RST_STREAM)

    run(main())


def test_silent_peer_and_cancelled_caller() -> None:
    async def handler(conn: PeerConn) -> None:
        while True:
            await conn.frame()

    async def main() -> None:
        async with Peer(handler) as peer:
            channel = GrpcChannel("127.0.0.1", peer.port)
            task = asyncio.create_task(channel.unary(PATH, b"", timeout=5))
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.sleep(0.05)
            assert peer.conns[0].frames(hw.RST_STREAM)
            await channel.close()

    run(main())


# -- a real gRPC server


def test_against_grpc_aio_server() -> None:
    async def main() -> None:
        adapter = ScriptedAdapter()
        await adapter.start()
        channel = GrpcChannel("127.0.0.1", adapter.grpc_port, authority="ext_authz")
        try:
            got = await asyncio.gather(*(channel.unary(PATH, b"", timeout=5) for _ in range(50)))
            assert got == [b"\n\x00"] * 50  # CheckResponse(status={}) from allow_all
            left = adapter.grpc_deadlines[0]
            assert left is not None and 4 < left <= 5
            adapter.abort = grpc.StatusCode.RESOURCE_EXHAUSTED
            with pytest.raises(GrpcError) as info:
                await channel.unary(PATH, b"", timeout=5)
            assert (info.value.name, info.value.message) == ("RESOURCE_EXHAUSTED", "scripted abort")
            adapter.abort, adapter.delay_s = None, 0.5
            with pytest.raises(GrpcError) as info:
                await channel.unary(PATH, b"", timeout=0.1)
            assert info.value.code == gw.DEADLINE_EXCEEDED
            adapter.delay_s = 0
            await adapter.stop()
            with pytest.raises(GrpcError) as info:
                await channel.unary(PATH, b"", timeout=2)
            assert info.value.code == gw.UNAVAILABLE
        finally:
            await channel.close()
            await adapter.stop()

    run(main())
