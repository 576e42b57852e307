"""The echo upstream: an aiohttp server that records every request it gets and answers 200 with
a JSON echo of it (or a scripted answer for a path prefix).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import ClassVar

from aiohttp import web

from common.clock import Clock, MonotonicClock
from simulator.model import Headers, UpstreamRequest


@dataclass(frozen=True)
class UpstreamAnswer:
    """A scripted answer for requests whose path starts with a prefix."""

    status: int = 200
    headers: Headers = field(default_factory=list)
    body: bytes = b""


class EchoUpstream:
    """Records requests as received; answers `200 application/json` echoing them."""

    _running: ClassVar[dict[str, EchoUpstream]] = {}

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
        *,
        record: bool = True,
    ) -> None:
        self.host = host
        self._port = port
        self._clock: Clock = clock or MonotonicClock()
        self.record = record  # False: answer without keeping records (load runs)
        self.received: list[UpstreamRequest] = []
        self._answers: list[tuple[str, UpstreamAnswer]] = []
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        if self._port == 0:
            raise RuntimeError("EchoUpstream.port: the upstream is not started; await start()")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @classmethod
    def running_at(cls, url: str) -> EchoUpstream | None:
        """The in-process echo upstream serving `url`, if any (how data planes find records)."""
        return cls._running.get(url.rstrip("/"))

    def answer(
        self, path_prefix: str, status: int = 200, headers: Headers | None = None, body: bytes = b""
    ) -> None:
        """Answer requests under `path_prefix` with a fixed response instead of the echo."""
        self._answers.insert(0, (path_prefix, UpstreamAnswer(status, list(headers or []), body)))

    def clear(self) -> None:
        self.received.clear()

    def find(self, request_id: str) -> UpstreamRequest | None:
        """The last request received with this `x-request-id`."""
        for rec in reversed(self.received):
            if rec.header("x-request-id") == request_id:
                return rec
        return None

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self._port = int(sockets[0].getsockname()[1])
        EchoUpstream._running[self.url] = self

    async def stop(self) -> None:
        if self._runner is not None:
            EchoUpstream._running.pop(self.url, None)
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.raw_headers]
        rec = UpstreamRequest(
            method=request.method,
            path=request.raw_path,
            headers=headers,
            body=body,
            at=self._clock.now(),
        )
        if self.record:
            self.received.append(rec)
        for prefix, ans in self._answers:
            if rec.path.startswith(prefix):
                resp = web.Response(status=ans.status, body=ans.body)
                for k, v in ans.headers:
                    resp.headers.add(k, v)
                return resp
        return web.Response(
            status=200,
            body=json.dumps(rec.to_dict()).encode(),
            content_type="application/json",
        )
