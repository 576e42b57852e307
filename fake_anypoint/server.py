"""``ControlPlaneServer``: serves one ``ControlPlaneState`` on a platform origin and a separate
analytics-ingest origin (aiohttp, 127.0.0.1, port 0 = ephemeral), over http or https.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from aiohttp import web

from . import (
    routes_accounts,
    routes_admin,
    routes_analytics,
    routes_apimanager,
    routes_assets,
    routes_connected_apps,
    routes_contracts,
    routes_exchange,
    routes_org,
    routes_sync,
    routes_xapi,
)
from .bounded import IngestLimits
from .httpkit import new_app
from .quotas import ANALYTICS_LIMIT, PLATFORM_LIMIT, Quota, Quotas
from .state import ControlPlaneState

HEADER_TIMEOUT_S = 20.0
"""A connection that has not sent a whole request head in this time is closed."""


class ControlPlaneServer:
    """The fake Anypoint control plane's HTTP front; ``start()``/``stop()`` in a running loop."""

    def __init__(
        self,
        state: ControlPlaneState,
        host: str = "127.0.0.1",
        port: int = 0,
        ingest_port: int = 0,
        https: bool = False,
        *,
        ca_dir: str | Path | None = None,
        ingest_limits: IngestLimits | None = None,
        header_timeout_s: float = HEADER_TIMEOUT_S,
        admin_token: str | None = None,
        platform_rate_limit: int = PLATFORM_LIMIT,
        analytics_rate_limit: int = ANALYTICS_LIMIT,
    ) -> None:
        if not 0 < header_timeout_s <= 3600:
            raise ValueError(f"header_timeout_s: {header_timeout_s!r} must be in (0, 3600] s")
        self.state = state
        self.ingest_limits = ingest_limits or IngestLimits()
        self.header_timeout_s = header_timeout_s
        self.admin_token = admin_token
        self.quotas = Quotas(
            Quota(state.clock, platform_rate_limit), Quota(state.clock, analytics_rate_limit)
        )
        self.host = host
        self.port = port
        self.ingest_port = ingest_port
        self.https = https
        self.ca_dir = Path(ca_dir) if ca_dir is not None else None
        self.ca_path: Path | None = None
        self._runners: list[web.AppRunner] = []
        self._bound: dict[str, int] = {}

    def platform_app(self) -> web.Application:
        app = new_app(self.state, admin_token=self.admin_token, quotas=self.quotas, role="platform")
        routes_accounts.register(app)
        routes_org.register(app)
        routes_connected_apps.register(app)
        routes_sync.register(app)
        routes_apimanager.register(app)
        routes_xapi.register(app)
        routes_contracts.register(app)
        routes_exchange.register(app)
        routes_assets.register(app)
        routes_analytics.register(app)
        routes_admin.register(app)
        return app

    def ingest_app(self) -> web.Application:
        app = new_app(self.state, role="ingest")
        app[routes_sync.INGEST_LIMITS_KEY] = self.ingest_limits
        routes_sync.register_ingest(app)
        return app

    def _ssl_context(self) -> ssl.SSLContext | None:
        if not self.https:
            return None
        from .tls import ensure_ca, server_ssl_context

        files = ensure_ca(self.ca_dir or _default_ca_dir(), hosts=[self.host])
        self.ca_path = files.ca_cert
        return server_ssl_context(files)

    async def start(self) -> None:
        if self._runners:
            raise RuntimeError("ControlPlaneServer.start(): already started")
        ctx = self._ssl_context()
        try:
            self._bound["platform"] = await self._serve(self.platform_app(), self.port, ctx)
            # Raw request bodies on the ingest origin: the batch size is the compressed size.
            self._bound["ingest"] = await self._serve(
                self.ingest_app(), self.ingest_port, ctx, auto_decompress=False
            )
        except BaseException:
            await self.stop()
            raise

    async def _serve(
        self,
        app: web.Application,
        port: int,
        ctx: ssl.SSLContext | None,
        *,
        auto_decompress: bool = True,
    ) -> int:
        # keepalive_timeout also closes a connection that has not sent a whole request head
        # in that time (aiohttp arms it when the connection opens): the header timeout.
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            auto_decompress=auto_decompress,
            keepalive_timeout=self.header_timeout_s,
        )
        await runner.setup()
        self._runners.append(runner)
        site = web.TCPSite(runner, self.host, port, ssl_context=ctx, reuse_address=True)
        await site.start()
        return bound_port(site) or port

    async def stop(self) -> None:
        runners, self._runners = self._runners, []
        for runner in reversed(runners):
            await runner.cleanup()
        self._bound.clear()

    def _url(self, which: str) -> str:
        if which not in self._bound:
            raise RuntimeError("ControlPlaneServer: call `await server.start()` first")
        scheme = "https" if self.https else "http"
        return f"{scheme}://{self.host}:{self._bound[which]}"

    @property
    def base_url(self) -> str:
        """The platform origin, e.g. ``http://127.0.0.1:53211``."""
        return self._url("platform")

    @property
    def ingest_url(self) -> str:
        """The analytics-ingest origin (POST ``/v2/analytics/events`` there)."""
        return self._url("ingest")

    async def __aenter__(self) -> ControlPlaneServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def bound_port(site: web.TCPSite) -> int:
    """The port a started site listens on (0 if it cannot be told)."""
    sockets = getattr(site._server, "sockets", None) or []
    return int(sockets[0].getsockname()[1]) if sockets else 0


def _default_ca_dir() -> Path:
    return Path("build") / "ca"
