"""TCP relays across namespaces: accept on one side (a socket the caller made, in whichever
namespace), connect on the other (a callable that opens the far end), copy bytes both ways with
half-close, and stop every connection when the relay closes."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable

Opener = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]
CHUNK = 64 * 1024
CLOSE_TIMEOUT_S = 2.0


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until end of stream, then pass the end on (half-close)."""
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (OSError, RuntimeError):
        writer.transport.abort()


class Relay:
    """One listening socket relayed to whatever ``opener`` connects to."""

    def __init__(self, listener: socket.socket, opener: Opener, label: str = "") -> None:
        self.listener = listener
        self.opener = opener
        self.label = label
        self.server: asyncio.Server | None = None
        self.connections = 0
        self.failures = 0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        port: int = self.listener.getsockname()[1]
        return port

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, sock=self.listener)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        far: asyncio.StreamWriter | None = None
        try:
            far_reader, far = await self.opener()
            await asyncio.gather(pipe(reader, far), pipe(far_reader, writer))
        except (OSError, TimeoutError):
            self.failures += 1
        finally:
            self._tasks.discard(task)
            for side in (writer, far):
                if side is not None:
                    with contextlib.suppress(OSError, RuntimeError):
                        side.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=CLOSE_TIMEOUT_S)
        with contextlib.suppress(OSError):
            self.listener.close()


def loopback_listener(port: int, host: str = "127.0.0.1") -> socket.socket:
    """A listening socket in the kit's own namespace."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    sock.setblocking(False)
    return sock


def opener_to(host: str, port: int, timeout_s: float = 5.0) -> Opener:
    async def open_() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)

    return open_
