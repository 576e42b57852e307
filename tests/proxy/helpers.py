"""Shared pieces of the proxy tests: the CA, a running mitmdump (skipped locally and failed in
CI when mitmproxy 12 or root is missing), and a small upstream that echoes what it got."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web

from fake_anypoint.tls import ensure_ca
from proxy.ca import CaPaths
from proxy.mitmdump import MitmProxy, ProxyError, ProxySettings, find_mitmdump
from proxy.netns import unavailable_reason
from tests.conftest import REQUIRE_ALL

PLATFORM = "anypoint.mulesoft.com"
INGEST = "analytics-ingest.anypoint.mulesoft.com"
HOSTS = {PLATFORM: "platform", INGEST: "ingest"}


def _missing(message: str) -> None:
    if REQUIRE_ALL:
        pytest.fail(message + "; ASMKIT_REQUIRE_ALL=1 is set, so this is an error")
    pytest.skip(message)


def require_mitm() -> None:
    try:
        find_mitmdump(create=False)
    except ProxyError as exc:
        _missing(str(exc))


def require_netns() -> None:
    reason = unavailable_reason()
    if reason:
        _missing(reason)


def kit_ca(folder: Path) -> CaPaths:
    files = ensure_ca(folder)
    return CaPaths(files.ca_cert, files.ca_key)


async def echo(request: web.Request) -> web.Response:
    body = await request.read()
    answer = {
        "method": request.method,
        "path": request.path,
        "query": request.query_string,
        "host": request.headers.get("host"),
        "body": body.decode(errors="replace"),
        "client_id": "0123456789abcdef0123456789abcdef",
        "access_token": "a-secret-token-value",
    }
    return web.json_response(answer, headers={"ETag": '"v1"'})


@asynccontextmanager
async def upstream() -> AsyncIterator[str]:
    """An HTTP origin on 127.0.0.1 that answers every request with JSON about it."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def start_proxy(ca: CaPaths, routes: dict[str, str], *, record: bool = False) -> MitmProxy:
    proxy = MitmProxy(ProxySettings(ca, dict(HOSTS), routes, record=record))
    proxy.start()
    return proxy


async def run(
    *argv: str, env: dict[str, str] | None = None, timeout: float = 60
) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return process.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def parse(text: str) -> dict[str, object]:
    value: dict[str, object] = json.loads(text)
    return value
