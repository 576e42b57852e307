"""One keep-alive connection of the kit's HTTP/1.1 load client (`simulator.http1`), an
`asyncio.Protocol` with at most one request outstanding: it writes the request, feeds the bounded
parser (`simulator.http1_parse`) and puts the outcome where its request waits (`Waiter`: the
future `Http1Client.send` awaits, or the request `Http1Client.submit` handed a callback)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol, cast

from simulator.http1_fast import Heads
from simulator.http1_parse import Http1Response, ProtocolError, ResponseParser

Done = Callable[[Http1Response | BaseException], None]
"""What `Http1Client.submit` calls once with the response, or with the error `send` raises."""


class Expirable(Protocol):
    """What a timeout ends: a request's waiter, or a wait for a free connection."""

    def done(self) -> bool: ...

    def set_exception(self, exception: BaseException, /) -> None: ...


class Waiter(Expirable, Protocol):
    """Where a connection puts its outstanding request's outcome: the future `send` awaits,
    or the request `submit` handed a callback (`simulator.http1._Submitted`)."""

    def set_result(self, result: Http1Response, /) -> None: ...


def expire(fut: Expirable, what: str) -> None:
    """End ``fut`` with a TimeoutError saying ``what`` (unless it ended already)."""
    if not fut.done():
        fut.set_exception(TimeoutError(what))


class Connection(asyncio.Protocol):
    """One connection; at most one request outstanding (``waiter`` gets its response)."""

    def __init__(self, max_body: int, heads: Heads) -> None:
        self.parser = ResponseParser(max_body=max_body, heads=heads)
        self.transport: asyncio.Transport | None = None
        self.waiter: Waiter | None = None
        self.closed = False
        self.used = 0
        self.deadline = 0.0
        """When the outstanding request times out (`Http1Client`'s watchdog reads it)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's is one without subclassing asyncio.Transport).
        self.transport = cast("asyncio.Transport", transport)

    def send(self, raw: bytes, head: bool, waiter: Waiter) -> None:
        assert self.transport is not None
        self.parser.expect(head)
        if self.transport.is_closing():  # closed, and connection_lost is still to come
            self.closed = True
            waiter.set_exception(ConnectionResetError("connection closed before the request"))
            return
        self.waiter = waiter
        self.transport.write(raw)

    def data_received(self, data: bytes) -> None:
        try:
            response = self.parser.feed(data)
        except ProtocolError as err:
            self._fail(err)
            return
        if response is None:
            return
        waiter, self.waiter = self.waiter, None
        if not response.keep_alive:
            self.close()
        if waiter is not None and not waiter.done():
            waiter.set_result(response)

    def eof_received(self) -> bool:
        return False  # close: a response that ran until the close completes in connection_lost

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter, self.waiter = self.waiter, None
        if waiter is None or waiter.done():
            return
        try:
            response = self.parser.eof()
        except ProtocolError as err:
            waiter.set_exception(err)
            return
        if response is not None:
            waiter.set_result(response)
        else:
            reason = f": {exc}" if exc else " by the peer"
            waiter.set_exception(
                ConnectionResetError(f"connection closed before a complete response{reason}")
            )

    def _fail(self, err: Exception) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(err)
        self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.close()
