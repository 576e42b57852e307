"""A scripted HTTP/2 server for the tests of the kit's gRPC client: it reads the client's frames
and answers exactly as a test tells it, including what no sane server would send."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
from hpack import Decoder

from simulator import h2_wire as hw
from simulator.grpc_wire import frame_message
from simulator.h2_grpc import GrpcChannel, GrpcError

OK_HEADERS = [(":status", "200"), ("content-type", "application/grpc")]
Frame = tuple[int, int, int, bytes]


def headers(sid: int, fields: list[tuple[str, str]], *, end: bool = False) -> bytes:
    flags = hw.END_HEADERS | (hw.END_STREAM if end else 0)
    return hw.frame(hw.HEADERS, flags, sid, hw.encode_block(fields))


def reply(sid: int, message: bytes = b"", status: int = 0, text: str = "") -> bytes:
    """A whole unary answer: headers, the message, trailers."""
    trailers = [("grpc-status", str(status))] + ([("grpc-message", text)] if text else [])
    return (
        headers(sid, OK_HEADERS)
        + hw.frame(hw.DATA, 0, sid, frame_message(message))
        + headers(sid, trailers, end=True)
    )


class PeerConn:
    """One accepted connection: ``seen`` holds every frame the client sent."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.seen: list[Frame] = []
        self.decoder = Decoder()
        self.request_headers: dict[int, dict[str, str]] = {}

    async def frame(self) -> Frame:
        head = await self.reader.readexactly(9)
        hi, lo, kind, flags, sid = struct.unpack(">HBBBI", head)
        payload = await self.reader.readexactly(hi << 8 | lo)
        got = (kind, flags, sid & hw.MAX_STREAM_ID, payload)
        self.seen.append(got)
        if kind == hw.HEADERS:
            fields = self.decoder.decode(payload)
            self.request_headers[got[2]] = {str(k): str(v) for k, v in fields}
        return got

    async def until(self, kind: int, flags: int = 0) -> Frame:
        while True:
            got = await self.frame()
            if got[0] == kind and got[1] & flags == flags:
                return got

    async def request(self) -> tuple[int, bytes]:
        """The next whole request: (stream id, its DATA bytes)."""
        sid = (await self.until(hw.HEADERS))[2]
        data = b""
        while True:
            kind, flags, got_sid, payload = await self.frame()
            if kind == hw.DATA and got_sid == sid:
                data += payload
                if flags & hw.END_STREAM:
                    return sid, data

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    def frames(self, kind: int) -> list[Frame]:
        return [f for f in self.seen if f[0] == kind]


Handler = Callable[[PeerConn], Awaitable[Any]]


class Peer:
    """Serves each connection with ``handler`` (after checking the client preface)."""

    def __init__(
        self,
        handler: Handler,
        settings: list[tuple[int, int]] | None = None,
        *,
        preface: bool = True,
    ) -> None:
        self.handler = handler
        self.settings = settings or []
        self.preface = preface
        self.conns: list[PeerConn] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self.errors: list[BaseException] = []

    async def __aenter__(self) -> Peer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for conn in self.conns:
            conn.writer.close()
        await asyncio.sleep(0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = PeerConn(reader, writer)
        self.conns.append(conn)
        try:
            assert await reader.readexactly(len(hw.PREFACE)) == hw.PREFACE
            if self.preface:
                conn.send(hw.settings_frame(self.settings))
            await self.handler(conn)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except BaseException as err:  # an assertion of the handler: the test reports it
            self.errors.append(err)
            writer.close()


async def answer_all(conn: PeerConn) -> None:
    """A well-behaved server: answers every request with its own request message."""
    while True:
        sid, data = await conn.request()
        conn.send(reply(sid, data[5:]))


# -- how the tests call the client

T = TypeVar("T")
PATH = "/envoy.service.auth.v3.Authorization/Check"


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, 30))  # type: ignore[arg-type]


async def call(port: int, message: bytes = b"hi", timeout: float = 5.0, **kw: object) -> bytes:
    channel = GrpcChannel("127.0.0.1", port, **kw)  # type: ignore[arg-type]
    try:
        return await channel.unary(PATH, message, timeout=timeout)
    finally:
        await channel.close()


async def failure(port: int, message: bytes = b"hi", timeout: float = 5.0, **kw: object):
    with pytest.raises(GrpcError) as info:
        await call(port, message, timeout, **kw)
    return info.value
