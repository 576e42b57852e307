"""The kit's HTTP/1.1 load client: keep-alive connections to one origin over `asyncio.Protocol`
(no per-request stream objects, no pipelining), bounded in connections, in bytes per response
(`simulator.http1_parse`) and in time per request. Used where the kit generates HTTP load: to
a real Envoy's listener (`RealEnvoy`) and to an adapter's HTTP ext_authz service
(`simulator.http_check`). A request is awaited (`send`) or handed a callback (`submit`): a load
loop that sends the next request from the callback needs no task, no future and no extra turn of
the event loop per request, which were most of its CPU beyond the system calls."""

from __future__ import annotations

import asyncio
import ssl as ssl_module
from collections import deque

from simulator.http1_conn import Connection, Done, expire
from simulator.http1_encode import encode_request
from simulator.http1_fast import Heads
from simulator.http1_parse import MAX_BODY, Http1Response, ProtocolError

__all__ = ["Done", "Http1Client", "Http1Response", "ProtocolError", "encode_request"]

DEFAULT_TIMEOUT = 300.0
"""Seconds for one request (connecting included) when the caller gives none (as aiohttp)."""


_EARLY = 1e-6
"""asyncio may run a timer up to its clock's resolution before the time it was set for."""


class _Submitted:
    """A request of `Http1Client.submit` on its connection, standing where `send`'s future
    stands: its outcome frees (or closes) the connection as `send` would, then goes to
    ``done``; a reused connection the peer closed before answering is retried once, as by
    `send`."""

    __slots__ = ("client", "conn", "deadline", "finished", "head", "raw", "then")

    def __init__(
        self,
        client: Http1Client,
        conn: Connection,
        raw: bytes,
        head: bool,
        deadline: float,
        then: Done,
    ) -> None:
        self.client, self.conn, self.raw, self.head = client, conn, raw, head
        self.deadline, self.then, self.finished = deadline, then, False

    def done(self) -> bool:
        return self.finished

    def set_result(self, result: Http1Response, /) -> None:
        self.finished = True
        client, conn = self.client, self.conn
        conn.used += 1
        if conn.closed or client._closed or client._waiters:
            client._release(conn)
        else:  # (`_release`'s common case, inline)
            client._idle.append(conn)
        self.then(result)

    def set_exception(self, exception: BaseException, /) -> None:
        self.finished = True
        client, conn = self.client, self.conn
        if isinstance(exception, ConnectionResetError):
            client._release(conn)
            if conn.used > 0 and conn.parser.received == 0 and not client._closed:
                loop = client._loop
                assert loop is not None
                client._relay(loop, self.raw, self.head, self.deadline, 1, self.then)
                return
        else:  # timed out or garbled: the connection is unusable
            conn.close()
            client._release(conn)
        self.then(exception)


class Http1Client:
    """Requests to one origin ``host:port`` over up to ``limit`` keep-alive connections (TLS
    with ``ssl``; from ``local_addr`` when given). A request that finds every connection busy
    waits for one (the wait counts toward its timeout). A request sent on a reused connection
    that the peer closed before answering anything is sent once more on a new one."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        limit: int = 256,
        ssl: ssl_module.SSLContext | None = None,
        server_hostname: str | None = None,
        local_addr: tuple[str, int] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_body: int = MAX_BODY,
    ) -> None:
        if limit <= 0 or timeout <= 0:
            raise ValueError(f"Http1Client limit={limit!r} and timeout={timeout!r} must be > 0")
        self.host, self.port, self.limit, self.timeout = host, port, limit, timeout
        self._ssl, self._server_hostname, self._local_addr = ssl, server_hostname, local_addr
        self._max_body = max_body
        self._heads: Heads = {}
        self._authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self._idle: list[Connection] = []
        self._all: set[Connection] = set()
        self._total = 0  # connections open, connecting, or reserved for a waiter
        self._waiters: deque[asyncio.Future[Connection | None]] = deque()
        self._closed = False
        self._watchdog: asyncio.TimerHandle | None = None
        self._watch_at = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        """The event loop of the first `submit` (a client's connections live in one loop)."""
        self._relays: set[asyncio.Task[None]] = set()

    async def request(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes = b"",
        *,
        timeout: float | None = None,
        version: str = "HTTP/1.1",
    ) -> Http1Response:
        """Send one request (``target``: the path and query, as sent; without a Host header
        ``host: HOST:PORT`` is sent); its response.

        Raises TimeoutError, ConnectionError/OSError (refused, reset), `ProtocolError`."""
        raw = encode_request(
            method, target, headers, body, version=version, default_host=self._authority
        )
        return await self.send(raw, head=method.upper() == "HEAD", timeout=timeout)

    async def send(
        self, raw: bytes, *, head: bool = False, timeout: float | None = None
    ) -> Http1Response:
        """Send an encoded request (`encode_request`); its response."""
        if self._closed:
            raise ConnectionError("Http1Client is closed")
        loop = asyncio.get_running_loop()
        return await self._exchange(loop, raw, head, loop.time() + (timeout or self.timeout), 2)

    def submit(
        self, raw: bytes, done: Done, *, head: bool = False, timeout: float | None = None
    ) -> None:
        """Send an encoded request without awaiting it: ``done`` gets its response, or the
        error `send` would raise, once, never before `submit` returns. With a connection idle
        the request is written at once and ``done`` runs from the connection's callback (the
        same response, the same bounds and timeout as `send`); otherwise, and for the one
        retry `send` allows, a task runs `send`'s path and hands its outcome to ``done``."""
        if self._closed:
            raise ConnectionError("Http1Client is closed")
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        deadline = loop.time() + (timeout or self.timeout)
        idle = self._idle
        if idle and not idle[-1].closed:
            conn = idle.pop()
            transport = conn.transport
            if transport is not None and not transport.is_closing():  # (`Connection.send`)
                conn.parser.expect(head)
                conn.deadline = deadline
                if self._watchdog is None or deadline < self._watch_at:
                    self._watch(loop, deadline)
                conn.waiter = _Submitted(self, conn, raw, head, deadline, done)
                transport.write(raw)
                return
            conn.closed = True  # closed, and connection_lost is still to come
            self._release(conn)
            self._relay(loop, raw, head, deadline, 1, done)  # `send`'s retry, as it would
            return
        self._relay(loop, raw, head, deadline, 2, done)

    def _relay(
        self,
        loop: asyncio.AbstractEventLoop,
        raw: bytes,
        head: bool,
        deadline: float,
        attempts: int,
        done: Done,
    ) -> None:
        """`submit`'s request the awaited way, in a task (no connection idle, or a retry)."""

        async def relay() -> None:
            try:
                response = await self._exchange(loop, raw, head, deadline, attempts)
            except BaseException as err:
                done(err)
                if not isinstance(err, Exception):
                    raise
            else:
                done(response)

        task = loop.create_task(relay())
        self._relays.add(task)
        task.add_done_callback(self._relays.discard)

    async def _exchange(
        self,
        loop: asyncio.AbstractEventLoop,
        raw: bytes,
        head: bool,
        deadline: float,
        attempts: int,
    ) -> Http1Response:
        for attempt in range(attempts):
            idle = self._idle
            conn = (
                idle.pop() if idle and not idle[-1].closed else await self._acquire(loop, deadline)
            )
            reused = conn.used > 0
            waiter: asyncio.Future[Http1Response] = loop.create_future()
            conn.deadline = deadline
            if self._watchdog is None or deadline < self._watch_at:
                self._watch(loop, deadline)
            try:
                conn.send(raw, head, waiter)
                response = await waiter
            except ConnectionResetError:
                self._release(conn)
                if reused and conn.parser.received == 0 and attempt < attempts - 1:
                    continue  # the peer closed an idle connection as the request went out
                raise
            except BaseException:
                conn.close()  # timed out, cancelled or garbled: the connection is unusable
                self._release(conn)
                raise
            self._answered(conn)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _answered(self, conn: Connection) -> None:
        """A request on ``conn`` has its response: the connection is free again."""
        conn.used += 1
        if conn.closed or self._closed or self._waiters:
            self._release(conn)
        else:  # (`_release`'s common case, inline)
            self._idle.append(conn)

    def _watch(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        """Wake `_sweep` at ``when``: one timer for the client, not one per request (a
        request's timer cost about as much CPU as parsing its response)."""
        if self._watchdog is not None:
            self._watchdog.cancel()
        self._watch_at = when
        self._watchdog = loop.call_at(when, self._sweep, loop)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        """Time out every request past its deadline; watch for the nearest one left."""
        self._watchdog = None
        now = loop.time() + _EARLY
        nearest: float | None = None
        for conn in list(self._all):
            waiter = conn.waiter
            if waiter is None or waiter.done():
                continue
            if conn.deadline <= now:
                expire(waiter, "no response before the timeout")
            elif nearest is None or conn.deadline < nearest:
                nearest = conn.deadline
        if nearest is not None and not self._closed:
            self._watch(loop, nearest)

    async def _acquire(self, loop: asyncio.AbstractEventLoop, deadline: float) -> Connection:
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed:
                return conn
            self._forget(conn)
        if self._total >= self.limit:
            waiter: asyncio.Future[Connection | None] = loop.create_future()
            self._waiters.append(waiter)
            timer = loop.call_at(deadline, expire, waiter, "no free connection before the timeout")
            try:
                handed = await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                    self._give_back(waiter.result())
                raise
            finally:
                timer.cancel()
            if handed is not None:
                return handed
        else:
            self._total += 1  # a slot for the connection about to open
        try:
            async with asyncio.timeout_at(deadline):
                _, conn = await loop.create_connection(
                    lambda: Connection(self._max_body, self._heads),
                    self.host,
                    self.port,
                    ssl=self._ssl,
                    server_hostname=self._server_hostname if self._ssl else None,
                    local_addr=self._local_addr,
                )
        except BaseException:
            self._give_back(None)
            raise
        self._all.add(conn)
        return conn

    def _forget(self, conn: Connection) -> None:
        self._all.discard(conn)
        self._total -= 1

    def _give_back(self, conn: Connection | None) -> None:
        """A connection (or, with None, a reserved slot) returns to the pool."""
        if conn is None:
            self._total -= 1
            self._wake()
        else:
            self._release(conn)

    def _release(self, conn: Connection) -> None:
        if conn.closed or self._closed:
            conn.close()
            self._forget(conn)
            self._wake()
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        self._idle.append(conn)

    def _wake(self) -> None:
        """A slot freed: the first live waiter may open a connection."""
        while self._waiters and self._total < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._total += 1
                waiter.set_result(None)
                return

    async def close(self) -> None:
        """Close every connection; waiting requests fail (submitted ones through ``done``)."""
        self._closed = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(ConnectionError("Http1Client closed"))
        for conn in list(self._all):
            conn.close()
        self._all.clear()
        self._idle.clear()
        self._total = 0
        await asyncio.sleep(0)  # let the transports run their close callbacks
