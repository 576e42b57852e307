"""The kit's HTTP/1.1 load client against real servers: a scripted raw TCP server (connection
reuse, close, reset, stale keep-alive, timeouts, the connection limit), aiohttp (chunked
answers) and a real Envoy in front of the echo upstream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from aiohttp import web

from simulator import ClientRequest, EchoUpstream, EnvoySettings, Route
from simulator.http1 import Http1Client, ProtocolError
from simulator.real_envoy import RealEnvoy

Reply = Callable[[bytes, asyncio.StreamWriter], Awaitable[bool]]
"""Answers one request head; False closes the connection."""


class Scripted:
    """A raw server: reads request heads (and Content-Length bodies) and lets ``reply``
    answer each; counts connections and requests."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.connections = 0
        self.requests: list[bytes] = []
        self.open = 0
        self.most_open = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length) if length else b""
                self.requests.append(head + body)
                if not await self.reply(head, writer):
                    return
        finally:
            self.open -= 1
            writer.close()


@asynccontextmanager
async def scripted(reply: Reply) -> AsyncIterator[tuple[Scripted, int]]:
    server = Scripted(reply)
    srv = await asyncio.start_server(server.serve, "127.0.0.1", 0)
    try:
        yield server, srv.sockets[0].getsockname()[1]
    finally:
        srv.close()


def answer(body: bytes = b"ok", extra: bytes = b"") -> Reply:
    async def reply(_: bytes, writer: asyncio.StreamWriter) -> bool:
        head = b"HTTP/1.1 200 OK\r\n%scontent-length: %d\r\n\r\n" % (extra, len(body))
        writer.write(head + body)
        await writer.drain()
        return b"close" not in extra

    return reply


def test_keep_alive_connections_are_reused() -> None:
    async def main() -> None:
        async with scripted(answer()) as (server, port):
            client = Http1Client("127.0.0.1", port, limit=4)
            for _ in range(5):
                resp = await client.request("GET", "/a", [])
                assert (resp.status, resp.body) == (200, b"ok")
            await client.close()
        assert server.connections == 1
        assert server.requests[0] == f"GET /a HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n\r\n".encode()

    asyncio.run(main())


def test_connection_close_answers_open_a_new_connection() -> None:
    async def main() -> None:
        async with scripted(answer(extra=b"connection: close\r\n")) as (server, port):
            client = Http1Client("127.0.0.1", port)
            for _ in range(3):
                assert (await client.request("POST", "/", [], b"x")).body == b"ok"
            await client.close()
        assert server.connections == 3
        assert server.requests[0].endswith(b"content-length: 1\r\n\r\nx")

    asyncio.run(main())


def test_body_until_close_and_chunked_from_a_raw_server() -> None:
    async def reply(head: bytes, writer: asyncio.StreamWriter) -> bool:
        if head.startswith(b"GET /close"):
            writer.write(b"HTTP/1.1 200 OK\r\n\r\nuntil the ")
            await writer.drain()
            writer.write(b"close")
            return False
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n")
        await writer.drain()
        writer.write(b"2\r\nde\r\n0\r\n\r\n")
        return True

    async def main() -> None:
        async with scripted(reply) as (server, port):
            client = Http1Client("127.0.0.1", port)
            assert (await client.request("GET", "/close", [])).body == b"until the close"
            assert (await client.request("GET", "/chunked", [])).body == b"abcde"
            assert (await client.request("GET", "/chunked", [])).body == b"abcde"
            await client.close()
        assert server.connections == 2  # the close-delimited answer used up its connection

    asyncio.run(main())


def test_a_stale_keep_alive_connection_is_retried_once() -> None:
    """The peer closes a kept-alive connection as the next request goes out: the request
    goes again on a new connection (a fresh connection's close is an error: see below)."""
    served: list[int] = []

    async def reply(_: bytes, writer: asyncio.StreamWriter) -> bool:
        served.append(id(writer))
        if served.count(id(writer)) == 2:
            return False  # closes without an answer
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        return True

    async def main() -> None:
        async with scripted(reply) as (server, port):
            client = Http1Client("127.0.0.1", port)
            assert (await client.request("GET", "/", [])).body == b"ok"
            assert (await client.request("GET", "/", [])).body == b"ok"
            await client.close()
        assert (server.connections, len(server.requests)) == (2, 3)

    asyncio.run(main())


def test_a_closing_idle_connection_is_not_used() -> None:
    async def main() -> None:
        async with scripted(answer()) as (server, port):
            client = Http1Client("127.0.0.1", port)
            assert (await client.request("GET", "/", [])).body == b"ok"
            idle = client._idle[-1]
            assert idle.transport is not None
            idle.transport.close()  # closing; connection_lost has not run yet
            idle.closed = False
            assert (await client.request("GET", "/", [], timeout=2)).body == b"ok"
            await client.close()
        assert server.connections == 2

    asyncio.run(main())


def test_reset_before_an_answer_is_a_connection_error() -> None:
    async def reply(_: bytes, writer: asyncio.StreamWriter) -> bool:
        return False

    async def main() -> None:
        async with scripted(reply) as (_, port):
            client = Http1Client("127.0.0.1", port)
            with pytest.raises(ConnectionResetError, match="before a complete response"):
                await client.request("GET", "/", [])
            await client.close()

    asyncio.run(main())


def test_garbage_is_a_protocol_error_and_refused_is_an_os_error() -> None:
    async def reply(_: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")
        return True

    async def main() -> None:
        async with scripted(reply) as (_, port):
            client = Http1Client("127.0.0.1", port)
            with pytest.raises(ProtocolError, match="status line"):
                await client.request("GET", "/", [])
            await client.close()
        client = Http1Client("127.0.0.1", port)
        with pytest.raises(OSError):
            await client.request("GET", "/", [])
        await client.close()

    asyncio.run(main())


def test_timeouts_drop_the_connection() -> None:
    async def reply(head: bytes, writer: asyncio.StreamWriter) -> bool:
        if head.startswith(b"GET /slow"):
            await asyncio.sleep(0.5)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        return True

    async def main() -> None:
        async with scripted(reply) as (server, port):
            client = Http1Client("127.0.0.1", port)
            with pytest.raises(TimeoutError):
                await client.request("GET", "/slow", [], timeout=0.05)
            # the late answer cannot be taken for the next request's
            assert (await client.request("GET", "/fast", [])).body == b"ok"
            await client.close()
        assert server.connections == 2

    asyncio.run(main())


def test_each_request_times_out_at_its_own_deadline() -> None:
    """One watchdog serves every request: a shorter timeout given after a longer one still
    fires on time, the longer one later, and a request answered in time is unaffected."""

    async def reply(head: bytes, writer: asyncio.StreamWriter) -> bool:
        if head.startswith(b"GET /never"):
            await asyncio.sleep(5)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        return True

    async def timed(client: Http1Client, path: str, timeout: float) -> float | bytes:
        loop = asyncio.get_running_loop()
        began = loop.time()
        try:
            return (await client.request("GET", path, [], timeout=timeout)).body
        except TimeoutError:
            return loop.time() - began

    async def main() -> None:
        async with scripted(reply) as (_, port):
            client = Http1Client("127.0.0.1", port)
            long = asyncio.ensure_future(timed(client, "/never", 0.6))
            await asyncio.sleep(0.01)
            short = asyncio.ensure_future(timed(client, "/never", 0.1))
            fast = asyncio.ensure_future(timed(client, "/fast", 0.05))
            took_long, took_short, answer = await asyncio.gather(long, short, fast)
            await client.close()
        assert answer == b"ok"
        assert isinstance(took_short, float) and 0.09 <= took_short < 0.4
        assert isinstance(took_long, float) and 0.59 <= took_long < 1.2

    asyncio.run(main())


async def slow_ok(_: bytes, writer: asyncio.StreamWriter) -> bool:
    """Answers ``ok`` after 50 ms."""
    await asyncio.sleep(0.05)
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
    await writer.drain()
    return True


def test_the_connection_limit_holds_and_waiters_time_out() -> None:
    async def main() -> None:
        async with scripted(slow_ok) as (server, port):
            client = Http1Client("127.0.0.1", port, limit=2)
            out = await asyncio.gather(*(client.request("GET", "/", []) for _ in range(10)))
            assert [r.body for r in out] == [b"ok"] * 10
            assert (server.connections, server.most_open) == (2, 2)
            slow = [client.request("GET", "/", [], timeout=0.08) for _ in range(6)]
            results = await asyncio.gather(*slow, return_exceptions=True)
            assert any(isinstance(r, TimeoutError) for r in results)
            assert (await client.request("GET", "/", [])).body == b"ok"  # slots came back
            await client.close()
            with pytest.raises(ConnectionError, match="closed"):
                await client.request("GET", "/", [])

    asyncio.run(main())


def test_cancelled_requests_give_their_connection_back() -> None:
    async def main() -> None:
        async with scripted(slow_ok) as (_, port):
            client = Http1Client("127.0.0.1", port, limit=1)
            tasks = [asyncio.ensure_future(client.request("GET", "/", [])) for _ in range(3)]
            await asyncio.sleep(0.01)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            assert (await client.request("GET", "/", [])).body == b"ok"
            assert client._total <= 1
            await client.close()

    asyncio.run(main())


def test_chunked_answers_from_aiohttp() -> None:
    async def chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for part in (b"one,", b"two,", b"three"):
            await resp.write(part)
        await resp.write_eof()
        return resp

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/chunked", chunked)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        client = Http1Client("127.0.0.1", port)
        try:
            for _ in range(3):
                resp = await client.request("GET", "/chunked", [])
                assert (resp.status, resp.body) == (200, b"one,two,three")
                assert resp.header("transfer-encoding") == "chunked"
            head = await client.request("HEAD", "/chunked", [])
            assert (head.status, head.body) == (200, b"")
        finally:
            await client.close()
            await runner.cleanup()

    asyncio.run(main())


@pytest.mark.envoy
def test_through_a_real_envoy_to_the_echo_upstream() -> None:
    """Plain, chunked (Envoy re-chunks an upstream answer without a length), a POST body, many
    concurrent requests over kept-alive connections, and Envoy's own errors."""

    async def chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        await resp.write(b"a" * 5000)
        await resp.write(b"b")
        await resp.write_eof()
        return resp

    async def main() -> None:
        echo = EchoUpstream(record=True)
        await echo.start()
        app = web.Application()
        app.router.add_get("/chunked", chunked)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        upstream = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            routes = [Route(disabled=True)]
            async with RealEnvoy(EnvoySettings(), echo.url, routes, track=False) as envoy:
                reqs = [
                    ClientRequest(
                        method="POST", path=f"/o/{i}", body=b"x" * i, authority="svc.local"
                    )
                    for i in range(64)
                ]
                out = await asyncio.gather(*(envoy.handle(r) for r in reqs))
                assert {r.status for r in out} == {200}
                # the fast path's answers: headers split when read, as the full parser would
                assert all(r.header("server") == "envoy" for r in out)
                assert [int(r.header("content-length") or -1) for r in out] == [
                    len(r.body) for r in out
                ]
                assert len(echo.received) == 64
                assert sorted(len(u.body) for u in echo.received) == list(range(64))
                assert all(u.header("host") == "svc.local" for u in echo.received)
            async with RealEnvoy(EnvoySettings(), upstream, routes, track=False) as envoy:
                resp = await envoy.handle(ClientRequest(path="/chunked"))
                assert (resp.status, resp.body) == (200, b"a" * 5000 + b"b")
                assert resp.header("transfer-encoding") == "chunked"
                missing = await envoy.handle(ClientRequest(path="/nothing-here"))
                assert missing.status == 404
            await runner.cleanup()
            async with RealEnvoy(EnvoySettings(), upstream, routes, track=False) as envoy:
                down = await envoy.handle(ClientRequest(path="/chunked"))
                assert down.status == 503  # Envoy's answer for an upstream that refuses
        finally:
            await echo.stop()

    asyncio.run(main())
