"""The kit's own gRPC client for unary calls (HTTP/2 over `simulator.h2_conn`): many concurrent
streams on one connection to one target, opened on first use and again on the next call after it
died; ``grpc-timeout`` and a local deadline (RST_STREAM CANCEL, DEADLINE_EXCEEDED), the status
from the trailers, one transparent retry of a stream the server never processed. It is cheaper
per call than grpc.aio, which is why the load generator uses it."""

from __future__ import annotations

import asyncio
from collections import deque

from simulator import grpc_wire as gw
from simulator import h2_wire as hw
from simulator.grpc_wire import GrpcError
from simulator.h2_conn import TRANSPARENT, H2Connection, Stream

__all__ = ["GrpcChannel", "GrpcError"]

USER_AGENT = "asmkit-h2-grpc/1"
CONNECT_TIMEOUT = 20.0
"""Seconds a connection attempt may take, whatever the calls waiting for it allow."""
TRANSPARENT_RETRIES = 1
"""Times a call the server never processed is sent again on a new connection."""
COMPACT_AT = 4096
"""Calls the deadline queue holds before it drops those that ended behind one still running."""
MAX_PATHS = 64
"""Distinct (path, metadata) header blocks kept encoded."""
_RESERVED = frozenset({"content-type", "te", "grpc-timeout", "user-agent", "host"})
_TIMEOUT_FIELD = b"\x00\x0cgrpc-timeout"
"""A literal ``grpc-timeout`` without indexing; each call appends its value's length and it."""
_LENGTHS = [bytes([n]) for n in range(16)]


def _check_metadata(metadata: tuple[tuple[str, str], ...]) -> None:
    for name, _ in metadata:
        if not name or name != name.lower() or name.startswith(":") or name in _RESERVED:
            raise ValueError(
                f"gRPC metadata name {name!r}: use a lowercase name that is not a pseudo-header "
                f"nor one of {sorted(_RESERVED)}"
            )


class GrpcChannel:
    """Unary gRPC calls to ``host:port`` (plaintext HTTP/2, ``:authority`` = ``authority``,
    by default ``host:port``); ``metadata`` is sent with every call."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        authority: str | None = None,
        metadata: tuple[tuple[str, str], ...] = (),
        max_message: int = gw.MAX_MESSAGE,
    ) -> None:
        _check_metadata(metadata)
        self.host, self.port = host, port
        self.authority = authority or (f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
        self._metadata = metadata
        self._max_message = max_message
        self._conn: H2Connection | None = None
        self._all: set[H2Connection] = set()
        self._connecting: asyncio.Task[H2Connection] | None = None
        self._slot_waiters: deque[asyncio.Future[None]] = deque()
        self._blocks: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[bytes, bytes]] = {}
        """(path, metadata) → the request header block without and with ``grpc-timeout``'s
        name (its value follows per call)."""
        self._deadlines = Deadlines()
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        """The event loop of the first call: the channel's connections live in it."""

    def _block(self, path: str, metadata: tuple[tuple[str, str], ...]) -> tuple[bytes, bytes]:
        key = (path, metadata)
        blocks = self._blocks.get(key)
        if blocks is None:
            _check_metadata(metadata)
            block = hw.encode_block(
                [
                    (":method", "POST"),
                    (":scheme", "http"),
                    (":path", path),
                    (":authority", self.authority),
                    ("content-type", "application/grpc"),
                    ("te", "trailers"),
                    ("user-agent", USER_AGENT),
                    *self._metadata,
                    *metadata,
                ]
            )
            blocks = (block, block + _TIMEOUT_FIELD)
            if len(self._blocks) < MAX_PATHS:
                self._blocks[key] = blocks
        return blocks

    async def unary(
        self,
        path: str,
        request: bytes,
        *,
        timeout: float | None,
        metadata: tuple[tuple[str, str], ...] = (),
    ) -> bytes:
        """Call ``path`` (``/package.Service/Method``) with a serialized request; the serialized
        response. Raises `GrpcError` for every status but OK (DEADLINE_EXCEEDED once
        ``timeout`` seconds have passed, UNAVAILABLE when the server cannot be reached).
        ``timeout=None``: no deadline and no ``grpc-timeout`` (as grpc.aio without one)."""
        if self._closed:
            raise GrpcError(gw.UNAVAILABLE, "the channel is closed")
        if timeout is not None and timeout <= 0:
            raise GrpcError(gw.DEADLINE_EXCEEDED, "Deadline Exceeded")
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        bare, block = self._blocks.get((path, metadata)) or self._block(path, metadata)
        payload = gw.frame_message(request)
        for attempt in range(TRANSPARENT_RETRIES + 1):
            conn = self._conn
            if conn is None or not conn.usable or not conn.has_slot:
                conn = await self._ready(loop, deadline)
            waiter: asyncio.Future[tuple[int, str, bytes]] = loop.create_future()
            if deadline is None:
                stream = conn.open(bare, payload, waiter)
            else:
                # Envoy builds the header with the request, before the connection is ready:
                # the whole timeout; a transparent retry announces what is left
                left = timeout if attempt == 0 and timeout is not None else deadline - loop.time()
                value = gw.timeout_value(left).encode()
                stream = conn.open(block + _LENGTHS[len(value)] + value, payload, waiter)
                self._deadlines.add(deadline, conn, stream)
            try:
                code, message, body = await waiter
            except BaseException:
                conn.reset(stream)  # cancelled by the caller: the server may stop too
                raise
            if code == gw.OK:
                return body
            if code == TRANSPARENT and attempt < TRANSPARENT_RETRIES:
                continue
            raise GrpcError(gw.UNAVAILABLE if code == TRANSPARENT else code, message)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _ready(self, loop: asyncio.AbstractEventLoop, deadline: float | None) -> H2Connection:
        """A connection with a free stream slot: the current one, or a new one."""
        for _ in range(1000):  # each round waits for a change: a slot, a close, a connection
            conn = self._conn
            if conn is not None and conn.usable:
                if conn.has_slot:
                    return conn
                waiter: asyncio.Future[None] = loop.create_future()
                self._slot_waiters.append(waiter)
                await _before(waiter, loop, deadline, "waiting for a stream slot")
                continue
            if self._closed:
                raise GrpcError(gw.UNAVAILABLE, "the channel is closed")
            if self._connecting is None:
                self._connecting = loop.create_task(self._connect(loop))
                self._connecting.add_done_callback(_retrieve)
            await _before(asyncio.shield(self._connecting), loop, deadline, "connecting")
        raise GrpcError(gw.UNAVAILABLE, "no usable connection after 1000 attempts")

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> H2Connection:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                _, conn = await loop.create_connection(
                    lambda: H2Connection(self._changed, self._max_message), self.host, self.port
                )
        except (OSError, TimeoutError) as err:
            why = getattr(err, "strerror", None) or str(err) or type(err).__name__
            raise GrpcError(
                gw.UNAVAILABLE, f"failed to connect to {self.host}:{self.port}: {why}"
            ) from None
        finally:
            self._connecting = None
        if self._closed:
            conn.close()
            raise GrpcError(gw.UNAVAILABLE, "the channel is closed")
        self._all = {c for c in self._all if not c.closed}
        self._all.add(conn)
        self._conn = conn
        return conn

    def _changed(self) -> None:
        """A connection freed a stream slot, learned new settings or closed."""
        if not self._slot_waiters:
            return
        waiters, self._slot_waiters = self._slot_waiters, deque()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def close(self) -> None:
        """Close every connection; calls in flight fail with UNAVAILABLE."""
        self._closed = True
        if self._connecting is not None:
            self._connecting.cancel()
        for conn in list(self._all):
            conn.close()
        self._all.clear()
        self._deadlines.clear()
        self._conn = None
        await asyncio.sleep(0)  # let the transports run their close callbacks


class Deadlines:
    """The calls' local deadlines on one timer (cheaper than a timer per call): calls in the
    order they started; as long as their deadlines come in that order too (one timeout for
    all), the timer only looks at the oldest ones. A call that ended is dropped when it reaches
    the front; until then the queue holds at most the calls of one timeout's span."""

    def __init__(self) -> None:
        self._queue: deque[tuple[float, H2Connection, Stream]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._at = 0.0
        self._last = 0.0
        self._ordered = True
        self._compact_at = COMPACT_AT

    def add(self, deadline: float, conn: H2Connection, stream: Stream) -> None:
        queue = self._queue
        while queue and queue[0][2].waiter.done():
            queue.popleft()
        if len(queue) > self._compact_at:  # a call that hangs at the front: drop ended ones
            self._queue = queue = deque(i for i in queue if not i[2].waiter.done())
            self._compact_at = max(COMPACT_AT, 2 * len(queue))
        if deadline < self._last:
            self._ordered = False
        self._last = deadline
        queue.append((deadline, conn, stream))
        if self._timer is None or deadline < self._at:
            self._arm(deadline)

    def _arm(self, at: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._at = at
        self._timer = asyncio.get_running_loop().call_at(at, self._fire)

    def _fire(self) -> None:
        self._timer = None
        now = asyncio.get_running_loop().time()
        queue = self._queue
        if self._ordered:
            while queue and (queue[0][2].waiter.done() or queue[0][0] <= now):
                _expire(*queue.popleft())
        else:
            for item in queue:
                if item[0] <= now:
                    _expire(*item)
            self._queue = queue = deque(i for i in queue if not i[2].waiter.done())
            self._ordered = all(a[0] <= b[0] for a, b in zip(queue, list(queue)[1:], strict=False))
        if queue:
            self._arm(min(i[0] for i in queue) if not self._ordered else queue[0][0])

    def clear(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._queue.clear()


def _expire(deadline: float, conn: H2Connection, stream: Stream) -> None:
    if not stream.waiter.done():
        conn.reset(stream)
        stream.waiter.set_result((gw.DEADLINE_EXCEEDED, "Deadline Exceeded", b""))


def _retrieve(task: asyncio.Task[H2Connection]) -> None:
    if not task.cancelled():
        task.exception()  # a failed connection attempt nobody waits for any more: not logged


async def _before(
    awaitable: asyncio.Future[object] | asyncio.Future[H2Connection] | asyncio.Future[None],
    loop: asyncio.AbstractEventLoop,
    deadline: float | None,
    what: str,
) -> None:
    try:
        async with asyncio.timeout_at(deadline):
            await awaitable
    except TimeoutError:
        raise GrpcError(gw.DEADLINE_EXCEEDED, f"Deadline Exceeded ({what})") from None
