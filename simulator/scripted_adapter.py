"""A scripted ext_authz adapter for tests and benchmarks: a grpc.aio Authorization server and an
aiohttp HTTP auth server that answer from a script and record what they received.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from aiohttp import web
from envoy.service.auth.v3 import external_auth_pb2, external_auth_pb2_grpc
from google.rpc import status_pb2

from simulator.model import Headers

CheckResponse = external_auth_pb2.CheckResponse
# protobuf messages are untyped here (no stubs): Any stands for CheckRequest/CheckResponse.
GrpcScript = Callable[[Any], Awaitable[Any] | Any]


@dataclass
class HttpAnswer:
    """The HTTP auth server's answer; `delay_s` delays it (timeouts)."""

    status: int = 200
    headers: Headers = field(default_factory=list)
    body: bytes = b""
    delay_s: float = 0.0


@dataclass
class HttpAuthRecord:
    method: str
    path: str
    headers: Headers
    body: bytes


def allow_all(_: Any) -> Any:
    return CheckResponse(status=status_pb2.Status(code=0))


class ScriptedAdapter:
    """Serves gRPC Check on `grpc_port` and HTTP auth on `http_port` (both loopback, ephemeral).

    `grpc_answer` is a CheckResponse, or a callable taking the CheckRequest (sync or async);
    `abort` makes the RPC fail with that gRPC code (only the first `abort_calls` calls since
    `clear()` when set); `delay_s` delays the gRPC answer. HTTP calls take their answers from
    `http_script` in order, then `http_answer`.
    """

    def __init__(self, host: str = "127.0.0.1", *, record: bool = True) -> None:
        self.host = host
        self.record = record
        self.grpc_answer: Any | GrpcScript = allow_all
        self.abort: grpc.StatusCode | None = None
        self.abort_calls: int | None = None
        self.http_script: list[HttpAnswer] = []
        self.delay_s = 0.0
        self.http_answer = HttpAnswer()
        self.checks: list[Any] = []  # CheckRequest messages
        self.grpc_metadata: list[Headers] = []
        self.grpc_deadlines: list[float | None] = []  # seconds left when the call arrived
        self.grpc_arrivals: list[float] = []  # the loop's time when the call arrived
        self.http_requests: list[HttpAuthRecord] = []
        self._grpc_calls = 0
        self.grpc_port = 0
        self.http_port = 0
        self._server: grpc.aio.Server | None = None
        self._runner: web.AppRunner | None = None

    def clear(self) -> None:
        self._grpc_calls = 0
        self.checks.clear()
        self.grpc_metadata.clear()
        self.grpc_deadlines.clear()
        self.grpc_arrivals.clear()
        self.http_requests.clear()

    async def start(self) -> None:
        self._server = grpc.aio.server()
        external_auth_pb2_grpc.add_AuthorizationServicer_to_server(_Servicer(self), self._server)
        self.grpc_port = self._server.add_insecure_port(f"{self.host}:0")
        await self._server.start()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._http)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        server: Any = site._server
        self.http_port = int(server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop(grace=None)
            self._server = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _http(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if self.record:
            self.http_requests.append(
                HttpAuthRecord(
                    method=request.method,
                    path=request.raw_path,
                    headers=[
                        (k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers
                    ],
                    body=body,
                )
            )
        ans = self.http_script.pop(0) if self.http_script else self.http_answer
        if ans.delay_s:
            await asyncio.sleep(ans.delay_s)
        resp = web.Response(status=ans.status, body=ans.body)
        for k, v in ans.headers:
            resp.headers.add(k, v)
        return resp


class _Servicer(external_auth_pb2_grpc.AuthorizationServicer):
    def __init__(self, owner: ScriptedAdapter) -> None:
        self._owner = owner

    async def Check(
        self, request: external_auth_pb2.CheckRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        o = self._owner
        if o.record:
            o.checks.append(request)
            o.grpc_metadata.append([(m.key, m.value) for m in context.invocation_metadata() or ()])
            o.grpc_deadlines.append(context.time_remaining())
            o.grpc_arrivals.append(asyncio.get_running_loop().time())
        if o.delay_s:
            await asyncio.sleep(o.delay_s)
        o._grpc_calls += 1
        if o.abort is not None and (o.abort_calls is None or o._grpc_calls <= o.abort_calls):
            await context.abort(o.abort, "scripted abort")
        ans = o.grpc_answer
        if isinstance(ans, CheckResponse):
            return ans
        result = ans(request)
        if isinstance(result, CheckResponse):
            return result
        return await result


async def _serve_forever() -> None:
    """Allow-all adapter + non-recording echo upstream; prints their ports as one JSON line
    and runs until stdin closes (how `simulator.bench` runs them in a child process)."""
    import json
    import sys

    from simulator.echo import EchoUpstream

    adapter = ScriptedAdapter(record=False)
    echo = EchoUpstream(record=False)
    await adapter.start()
    await echo.start()
    ports = {"grpc": adapter.grpc_port, "http": adapter.http_port, "echo": echo.port}
    print(json.dumps(ports), flush=True)
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(None, sys.stdin.read)
    finally:
        await echo.stop()
        await adapter.stop()


def serve_forever() -> None:
    """Serve the allow-all adapter and an echo upstream until stdin closes (bench child)."""
    asyncio.run(_serve_forever())


if __name__ == "__main__":
    serve_forever()
