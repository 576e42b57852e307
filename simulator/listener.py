"""An HTTP listener in front of a data plane, so people can curl the simulated Envoy."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from simulator.model import ClientRequest, ClientResponse, DataPlane

_NOT_FORWARDED = frozenset({"content-length", "transfer-encoding", "connection"})


class Listener:
    """aiohttp.web server: each request becomes a `ClientRequest` for the data plane."""

    def __init__(self, plane: DataPlane, host: str = "127.0.0.1", port: int = 0) -> None:
        self._plane = plane
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server: Any = site._server
        self.port = int(server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        peer = request.transport.get_extra_info("peername") if request.transport else None
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers]
        client = ClientRequest(
            method=request.method,
            path=request.raw_path,
            headers=[(k, v) for k, v in headers if k.lower() != "host"],
            body=body,
            authority=request.host,
            source_ip=peer[0] if peer else "127.0.0.1",
            source_port=peer[1] if peer else 0,
            protocol=f"HTTP/{request.version.major}.{request.version.minor}",
        )
        resp: ClientResponse = await self._plane.handle(client)
        out = web.Response(status=resp.status, body=resp.body)
        for k, v in resp.headers:
            if k.lower() not in _NOT_FORWARDED:
                out.headers.add(k, v)
        return out
