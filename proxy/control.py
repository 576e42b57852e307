"""The kit's side of the proxy's control API (its own loopback listener, a token on every call):
routes, network faults, recording, the fault log and counters. Every call is bounded in time."""

from __future__ import annotations

import json
import time
from typing import Any

import aiohttp

from proxy.mitmdump import MitmProxy, ProxyError
from proxy.netfaults import NetworkFault

CONTROL_HOST = "http://asmkit.control"
"""Control requests name this origin; the proxy answers them itself and never forwards them."""
TIMEOUT_S = 10.0


class ProxyControl:
    """Async calls to one running proxy."""

    def __init__(self, proxy: MitmProxy) -> None:
        self.proxy = proxy

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"x-asmkit-token": self.proxy.token}
        data = json.dumps(body).encode() if body is not None else None
        if data is not None:
            headers["content-type"] = "application/json"
        timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.request(
                    method,
                    CONTROL_HOST + path,
                    data=data,
                    headers=headers,
                    proxy=self.proxy.control_url,
                ) as response,
            ):
                text = await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ProxyError(
                f"the proxy's control API did not answer {method} {path}: {exc!r};"
                f" mitmdump log:\n{self.proxy.log_tail()}"
            ) from None
        try:
            answer = json.loads(text) if text else None
        except ValueError:
            answer = text
        if response.status != 200:
            raise ProxyError(f"proxy control {method} {path} answered {response.status}: {answer}")
        return answer

    async def health(self) -> dict[str, Any]:
        answer: dict[str, Any] = await self.call("GET", "/health")
        return answer

    async def set_routes(self, routes: dict[str, str], roles: dict[str, str]) -> None:
        await self.call("PUT", "/routes", {"routes": routes, "roles": roles})

    async def set_faults(
        self, faults: list[NetworkFault], *, add: bool = False, now: float | None = None
    ) -> None:
        """Replace (or ``add`` to) the active faults; windows start at ``now`` (monotonic
        seconds, the proxy's clock too), by default this moment."""
        anchor = time.monotonic() if now is None else now
        wire = [fault.to_wire(anchor) for fault in faults]
        await self.call("POST" if add else "PUT", "/faults", {"faults": wire})

    async def clear_faults(self) -> None:
        await self.call("DELETE", "/faults")

    async def recording(self, on: bool) -> None:
        await self.call("POST", "/recording", {"on": on})

    async def take(self, salt: str | None = None) -> dict[str, Any]:
        """The cassette recorded so far (redacted), as JSON; the proxy starts a fresh one."""
        answer: dict[str, Any] = await self.call("POST", "/recording/take", {"salt": salt or ""})
        return answer

    async def events(self, since: int = 0) -> tuple[list[dict[str, Any]], int]:
        answer = await self.call("GET", f"/events?since={since}")
        return list(answer["events"]), int(answer["next"])

    async def stats(self) -> dict[str, int]:
        answer: dict[str, int] = await self.call("GET", "/stats")
        return answer
