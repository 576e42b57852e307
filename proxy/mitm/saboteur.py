"""The saboteur: a loopback origin inside mitmdump for faults that need the bytes under control.

- HTTP (``stall``, ``reset``, ``bandwidth``): the proxy sends it a request with a ticket; it
  forwards the request to the real upstream, then answers with the upstream's status and headers
  and misbehaves on the body: holds it back, cuts the connection (TCP reset) part-way, or sends it
  at a set rate. The proxy streams that answer to the adapter as it comes.
- TLS (``goaway``): the proxy passes the adapter's TLS connection through to it untouched; it
  completes the handshake with a certificate for the requested host, signed by the kit's CA,
  and on the first request sends HTTP/2 GOAWAY (HTTP/1.1: closes without an answer).
- Alert (``tls_handshake_failure``): a passed-through connection gets a fatal TLS
  ``handshake_failure`` alert in answer to its ClientHello.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import ssl
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import h11

from .certs import CertMaker
from .chaos import NetFault

TICKET_HEADER = "x-asmkit-ticket"
MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024
UPSTREAM_TIMEOUT_S = 60.0
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
H2_SETTINGS = 0x4
H2_HEADERS = 0x1
H2_GOAWAY = 0x7
MAX_H2_FRAMES = 64
HANDSHAKE_FAILURE_ALERT = bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28])
"""A TLS record: alert, TLS 1.2 framing, 2 bytes: fatal (2), handshake_failure (40)."""


@dataclass(frozen=True)
class Ticket:
    """What to do with one request the proxy hands over: the fault, where the request really
    goes, and what it was (for the fault log)."""

    fault: NetFault
    upstream: str
    host: str
    method: str
    path: str


EventSink = Callable[[NetFault, str, str, str, str], None]
"""Called with (fault, host, method, path, what happened)."""


def frame(kind: int, flags: int, stream: int, payload: bytes = b"") -> bytes:
    """One HTTP/2 frame (RFC 9113 §4.1)."""
    return (
        struct.pack(">I", len(payload))[1:]
        + bytes([kind, flags])
        + struct.pack(">I", stream)
        + payload
    )


def goaway(last_stream_id: int = 0, error_code: int = 0) -> bytes:
    return frame(H2_GOAWAY, 0, 0, struct.pack(">II", last_stream_id, error_code))


class Saboteur:
    """Serves tickets over HTTP and GOAWAY over TLS on 127.0.0.1 (ephemeral ports)."""

    def __init__(
        self,
        certs: CertMaker | None = None,
        on_event: EventSink | None = None,
    ) -> None:
        self._certs = certs
        self._sni: dict[int, str] = {}
        self._on_event: EventSink = on_event or (lambda *_: None)
        self._tickets: dict[str, Ticket] = {}
        self._counter = itertools.count(1)
        self._servers: list[asyncio.Server] = []
        self.http_port = 0
        self.tls_port = 0
        self.alert_port = 0
        self.goaway_faults: dict[str, NetFault] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        server = await asyncio.start_server(self._serve_http, "127.0.0.1", 0)
        self._servers.append(server)
        self.http_port = server.sockets[0].getsockname()[1]
        alert = await asyncio.start_server(self._serve_alert, "127.0.0.1", 0)
        self._servers.append(alert)
        self.alert_port = alert.sockets[0].getsockname()[1]
        if self._certs is not None:
            tls = await asyncio.start_server(
                self._serve_tls, "127.0.0.1", 0, ssl=self._tls_server_context(self._certs)
            )
            self._servers.append(tls)
            self.tls_port = tls.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        self._servers = []

    def _tls_server_context(self, certs: CertMaker) -> ssl.SSLContext:
        """A context that picks a certificate for the requested name (SNI) and remembers it."""

        def pick(ssl_object: Any, server_name: str | None, _: ssl.SSLContext) -> None:
            name = (server_name or "localhost").lower()
            self._sni[id(ssl_object)] = name
            ssl_object.context = certs.server_context(name)

        context = certs.server_context("localhost")
        context.sni_callback = pick
        return context

    def ticket(self, fault: NetFault, upstream: str, host: str, method: str, path: str) -> str:
        key = str(next(self._counter))
        self._tickets[key] = Ticket(fault, upstream, host, method, path)
        return key

    # ---- HTTP: forward, then misbehave ----

    async def _serve_http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            request, body = await _read_message(reader, h11.SERVER)
            assert isinstance(request, h11.Request)
            key = _header(request.headers, TICKET_HEADER)
            ticket = self._tickets.pop(key, None)
            if ticket is None:
                writer.write(b"HTTP/1.1 421 Misdirected Request\r\ncontent-length: 0\r\n\r\n")
                return
            response, answer = await _forward(ticket.upstream, request, body)
            await self._misbehave(ticket, response, answer, writer)
        except (OSError, ValueError, h11.ProtocolError, TimeoutError, AssertionError):
            writer.transport.abort()
        finally:
            if task is not None:
                self._tasks.discard(task)
            with contextlib.suppress(OSError, RuntimeError):
                writer.close()

    async def _misbehave(
        self,
        ticket: Ticket,
        response: h11.Response,
        body: bytes,
        writer: asyncio.StreamWriter,
    ) -> None:
        fault = ticket.fault

        def note(detail: str) -> None:
            self._on_event(fault, ticket.host, ticket.method, ticket.path, detail)

        headers = [
            (k, v)
            for k, v in response.headers
            if k.lower() not in (b"transfer-encoding", b"connection", b"content-length")
        ]
        headers += [(b"content-length", str(len(body)).encode()), (b"connection", b"close")]
        head = b"HTTP/1.1 %d %s\r\n" % (response.status_code, response.reason or b"OK")
        head += b"".join(k + b": " + v + b"\r\n" for k, v in headers) + b"\r\n"
        writer.write(head)
        await writer.drain()
        if fault.kind == "stall":
            note(f"status {response.status_code} sent, body held back {fault.hold_s:g}s")
            await asyncio.sleep(fault.hold_s)
            writer.transport.abort()
        elif fault.kind == "reset":
            cut = fault.cut_after if fault.cut_after is not None else len(body) // 2
            writer.write(body[:cut])
            await writer.drain()
            note(f"connection reset after {min(cut, len(body))} of {len(body)} body bytes")
            _reset(writer)
        else:
            await _trickle(writer, body, fault.rate_bps or 1)
            note(f"{len(body)} body bytes sent at {fault.rate_bps} B/s")

    # ---- TLS: a fatal alert instead of a handshake ----

    async def _serve_alert(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            await asyncio.wait_for(reader.read(16384), UPSTREAM_TIMEOUT_S)  # the ClientHello
            writer.write(HANDSHAKE_FAILURE_ALERT)
            await writer.drain()
        except (OSError, TimeoutError):
            pass
        finally:
            with contextlib.suppress(OSError, RuntimeError):
                writer.close()

    # ---- TLS: GOAWAY ----

    async def _serve_tls(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        ssl_object = writer.get_extra_info("ssl_object")
        host = self._sni.pop(id(ssl_object), "")
        fault = self.goaway_faults.get(host)
        try:
            alpn = ssl_object.selected_alpn_protocol() if ssl_object is not None else None
            if alpn == "h2":
                stream = await _first_h2_stream(reader, writer)
                writer.write(goaway(last_stream_id=0, error_code=0))
                await writer.drain()
                detail = f"HTTP/2 GOAWAY (last stream 0) before stream {stream}"
            else:
                await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), UPSTREAM_TIMEOUT_S)
                detail = "HTTP/1.1 connection closed without an answer"
            if fault is not None:
                self._on_event(fault, host, "", "", detail)
        except (OSError, ValueError, TimeoutError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            if task is not None:
                self._tasks.discard(task)
            with contextlib.suppress(OSError, RuntimeError, ssl.SSLError):
                writer.close()


async def _first_h2_stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int:
    """Read the client preface and frames up to its first HEADERS; returns that stream id."""
    preface = await asyncio.wait_for(reader.readexactly(len(H2_PREFACE)), UPSTREAM_TIMEOUT_S)
    if preface != H2_PREFACE:
        raise ValueError("not an HTTP/2 client preface")
    writer.write(frame(H2_SETTINGS, 0, 0))
    await writer.drain()
    for _ in range(MAX_H2_FRAMES):
        head = await asyncio.wait_for(reader.readexactly(9), UPSTREAM_TIMEOUT_S)
        length = int.from_bytes(head[:3], "big")
        kind, flags = head[3], head[4]
        stream = int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
        await reader.readexactly(length)
        if kind == H2_SETTINGS and not flags & 0x1:
            writer.write(frame(H2_SETTINGS, 0x1, 0))
            await writer.drain()
        if kind == H2_HEADERS:
            return stream
    raise ValueError("no HEADERS frame")


def _header(headers: Any, name: str) -> str:
    wanted = name.encode()
    return next((v.decode("latin-1") for k, v in headers if k.lower() == wanted), "")


async def _read_message(reader: asyncio.StreamReader, role: Any) -> tuple[Any, bytes]:
    """One HTTP/1.1 message head and its whole body, bounded in size and time."""
    conn = h11.Connection(role, max_incomplete_event_size=MAX_HEAD_BYTES)
    head: Any = None
    body = bytearray()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + UPSTREAM_TIMEOUT_S
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError("upstream too slow")
            data = await asyncio.wait_for(reader.read(65536), remaining)
            conn.receive_data(data)
            continue
        if isinstance(event, h11.Request | h11.Response):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_BODY_BYTES:
                raise ValueError("body too large")
        elif isinstance(event, h11.EndOfMessage):
            return head, bytes(body)
        elif isinstance(event, h11.ConnectionClosed):
            raise ValueError("connection closed before the message ended")


async def _forward(upstream: str, request: h11.Request, body: bytes) -> tuple[h11.Response, bytes]:
    """Send the request on to the real upstream (plain HTTP) and read its whole answer."""
    parts = urlsplit(upstream)
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(parts.hostname, parts.port or 80), UPSTREAM_TIMEOUT_S
    )
    try:
        client = h11.Connection(h11.CLIENT)
        skip = (TICKET_HEADER.encode(), b"connection", b"content-length", b"transfer-encoding")
        headers = [(k, v) for k, v in request.headers if k.lower() not in skip]
        headers += [(b"content-length", str(len(body)).encode()), (b"connection", b"close")]
        out = client.send(
            h11.Request(method=request.method, target=request.target, headers=headers)
        )
        out += client.send(h11.Data(data=body)) or b""
        out += client.send(h11.EndOfMessage()) or b""
        writer.write(out)
        await writer.drain()
        response, answer = await _read_message(reader, h11.CLIENT)
        assert isinstance(response, h11.Response)
        return response, answer
    finally:
        writer.close()


async def _trickle(writer: asyncio.StreamWriter, body: bytes, rate_bps: int) -> None:
    """Write ``body`` at ``rate_bps`` bytes per second, in twentieths of a second."""
    step = max(1, rate_bps // 20)
    for offset in range(0, len(body), step):
        writer.write(body[offset : offset + step])
        await writer.drain()
        await asyncio.sleep(step / rate_bps)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Abort with a TCP RST (linger 0) instead of an orderly close."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
