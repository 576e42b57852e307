"""Per-request outcomes from a real Envoy's JSON access log, matched by x-request-id, so that
concurrent requests through `RealEnvoy` each get their own ext_authz decision.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

# What Envoy writes per request (one JSON object per line).
LOG_FORMAT = {
    "rid": "%REQ(X-REQUEST-ID)%",
    "details": "%RESPONSE_CODE_DETAILS%",
    "flags": "%RESPONSE_FLAGS%",
    "code": "%RESPONSE_CODE%",
}


def access_log_config(path: str) -> list[dict[str, Any]]:
    """The HCM `access_log` entry writing LOG_FORMAT lines to `path`."""
    return [
        {
            "name": "envoy.access_loggers.file",
            "typed_config": {
                "@type": "type.googleapis.com/"
                "envoy.extensions.access_loggers.file.v3.FileAccessLog",
                "path": path,
                "log_format": {"json_format": LOG_FORMAT},
            },
        }
    ]


def _give_up(fut: asyncio.Future[dict[str, Any] | None]) -> None:
    if not fut.done():
        fut.set_result(None)


class AccessLogTail:
    """Follows the access log file and hands out entries by request id."""

    def __init__(self, path: Path, poll_s: float = 0.002) -> None:
        self._path = path
        self._poll_s = poll_s
        self._entries: dict[str, dict[str, Any]] = {}
        self._waiters: dict[str, asyncio.Future[dict[str, Any] | None]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._follow())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for fut in self._waiters.values():
            fut.cancel()
        self._waiters.clear()

    async def entry(self, request_id: str, timeout_s: float = 2.0) -> dict[str, Any] | None:
        """The log entry of `request_id`, waiting for Envoy to write it; None on timeout.
        Callers asking for the same id at once share one wait (one future and one timer per
        request: `asyncio.wait_for` with `shield` cost several of each)."""
        if request_id in self._entries:
            return self._entries.pop(request_id)
        loop = asyncio.get_running_loop()
        fut = self._waiters.get(request_id)
        if fut is None:
            fut = self._waiters[request_id] = loop.create_future()
        timer = loop.call_later(timeout_s, _give_up, fut)
        try:
            return await fut
        finally:
            timer.cancel()
            self._waiters.pop(request_id, None)
            self._entries.pop(request_id, None)

    async def _follow(self) -> None:
        while not self._path.exists():
            await asyncio.sleep(self._poll_s)
        with self._path.open("r", encoding="utf-8", errors="replace") as f:
            pending = ""
            while True:
                chunk = f.read()
                if not chunk:
                    await asyncio.sleep(self._poll_s if self._waiters else 0.02)
                    continue
                pending += chunk
                *lines, pending = pending.split("\n")
                for line in lines:
                    self._take(line)

    def _take(self, line: str) -> None:
        try:
            entry = json.loads(line)
        except ValueError:
            return
        rid = entry.get("rid")
        if not isinstance(rid, str):
            return
        fut = self._waiters.get(rid)
        if fut is not None and not fut.done():
            fut.set_result(entry)
        else:
            self._entries[rid] = entry
