"""Shared helpers for the simulator tests: a scripted adapter + echo upstream + data plane."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from envoy.config.core.v3 import base_pb2
from envoy.service.auth.v3 import external_auth_pb2
from envoy.type.v3 import http_status_pb2
from google.protobuf import wrappers_pb2  # type: ignore[import-untyped]
from google.rpc import status_pb2

from simulator import EchoUpstream, EnvoySettings, Route, ScriptedAdapter, SimulatedEnvoy

T = TypeVar("T")
ROUTES = [
    Route(
        authority="orders.default.svc.cluster.local",
        context_extensions={"api_id": "10001", "service": "orders"},
    )
]
AUTHORITY = "orders.default.svc.cluster.local"


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, 30))  # type: ignore[arg-type]


@dataclass
class Stack:
    adapter: ScriptedAdapter
    echo: EchoUpstream
    envoy: Any


@asynccontextmanager
async def stack(
    settings: EnvoySettings | None = None,
    routes: list[Route] | None = None,
    factory: Callable[..., Any] = SimulatedEnvoy,
) -> AsyncIterator[Stack]:
    adapter = ScriptedAdapter()
    echo = EchoUpstream()
    await adapter.start()
    await echo.start()
    s = settings or EnvoySettings(timeout_ms=2000)  # roomy: a busy machine must not time out
    port = adapter.grpc_port if s.transport == "grpc" else adapter.http_port
    s = replace(s, authz_port=port)
    envoy = factory(s, upstream_url=echo.url, routes=routes if routes is not None else ROUTES)
    await envoy.start()
    try:
        yield Stack(adapter, echo, envoy)
    finally:
        await envoy.close()
        await echo.stop()
        await adapter.stop()


def hvo(
    key: str, value: str, append: bool | None = None, action: int | None = None
) -> base_pb2.HeaderValueOption:
    opt = base_pb2.HeaderValueOption(header=base_pb2.HeaderValue(key=key, value=value))
    if append is not None:
        opt.append.CopyFrom(wrappers_pb2.BoolValue(value=append))
    if action is not None:
        opt.append_action = action  # type: ignore[assignment]
    return opt


def ok(**fields: Any) -> external_auth_pb2.CheckResponse:
    return external_auth_pb2.CheckResponse(
        status=status_pb2.Status(code=0), ok_response=external_auth_pb2.OkHttpResponse(**fields)
    )


def deny(
    code: int = 7, status: int | None = None, headers: list[Any] | None = None, body: str = ""
) -> external_auth_pb2.CheckResponse:
    resp = external_auth_pb2.CheckResponse(status=status_pb2.Status(code=code))
    if status is not None or headers or body:
        resp.denied_response.CopyFrom(
            external_auth_pb2.DeniedHttpResponse(headers=headers or [], body=body)
        )
        if status is not None:
            resp.denied_response.status.CopyFrom(http_status_pb2.HttpStatus(code=status))
    return resp


def error_response(
    code: int = 13, status: int | None = None, headers: list[Any] | None = None, body: str = ""
) -> external_auth_pb2.CheckResponse:
    resp = external_auth_pb2.CheckResponse(status=status_pb2.Status(code=code))
    resp.error_response.CopyFrom(
        external_auth_pb2.DeniedHttpResponse(headers=headers or [], body=body)
    )
    if status is not None:
        resp.error_response.status.CopyFrom(http_status_pb2.HttpStatus(code=status))
    return resp


async def late_settings_proxy(target: int, delay_s: float) -> asyncio.Server:
    """A loopback proxy to ``target`` that holds the server's first bytes (its HTTP/2
    SETTINGS) for ``delay_s``: an adapter slow to answer the handshake on a loaded machine."""

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, hold: float) -> None:
        first = True
        try:
            while data := await reader.read(65536):
                if first and hold:
                    await asyncio.sleep(hold)
                first = False
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def serve(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", target)
        await asyncio.gather(pipe(client_r, server_w, 0.0), pipe(server_r, client_w, delay_s))

    return await asyncio.start_server(serve, "127.0.0.1", 0)
