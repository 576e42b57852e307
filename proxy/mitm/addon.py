"""The asmkit mitmproxy addon: routes the platform hosts to their upstreams (the fake control
plane and ingest, or the real ones when recording for real), records every exchange, applies
network faults, and answers the kit's control API on its own loopback listener."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mitmproxy import ctx, http, tls
from mitmproxy.proxy import server_hooks
from OpenSSL import SSL

from .certs import WRONG_HOST, CertMaker
from .chaos import CONNECTION_KINDS, REQUEST_KINDS, SABOTEUR_KINDS, NetFault
from .control import ControlError, ProxyState, handle
from .recorder import Message
from .saboteur import TICKET_HEADER, Saboteur

LOG = logging.getLogger("asmkit.proxy")
TOKEN_HEADER = "x-asmkit-token"
MAX_CONTROL_BODY = 1024 * 1024
CERT_KINDS = ("wrong_host_certificate", "expired_certificate")
PASSTHROUGH_KINDS = ("goaway", "tls_handshake_failure")


def _json_response(status: int, body: Any) -> http.Response:
    return http.Response.make(
        status, json.dumps(body).encode(), {"content-type": "application/json"}
    )


def _refusal(status: int, message: str) -> http.Response:
    return http.Response.make(status, message.encode(), {"content-type": "text/plain"})


class AsmkitProxy:
    """One instance per mitmdump; configured by the JSON file named in ``asmkit_config``."""

    def __init__(self) -> None:
        self.state = ProxyState()
        self.config: dict[str, Any] = {}
        self.control_port = 0
        self.token = ""
        self.saboteur: Saboteur | None = None
        self.certs: CertMaker | None = None
        self._tls_faults: dict[str, NetFault] = {}
        self._tls_hosts: dict[str, str] = {}
        """Connections whose handshake with a bad certificate completed, and their host."""
        self._tls_used: set[str] = set()
        """Those of them the client sent a request over: it accepted the certificate."""
        self._passthrough: dict[str, NetFault] = {}
        self._opened: dict[str, float] = {}
        self._watchdog: asyncio.Task[None] | None = None

    # ---- lifecycle ----

    def load(self, loader: Any) -> None:
        loader.add_option("asmkit_config", str, "", "asmkit proxy configuration file (JSON)")

    def configure(self, updated: set[str]) -> None:
        if "asmkit_config" not in updated or not ctx.options.asmkit_config:
            return
        self.config = json.loads(Path(ctx.options.asmkit_config).read_text())
        self.control_port = int(self.config["control_port"])
        self.token = str(self.config["token"])
        self.state.allow_real = bool(self.config.get("allow_real", False))
        self.state.set_routes(self.config.get("routes", {}), self.config.get("roles", {}))
        self.state.book.rng.seed(int(self.config.get("seed", 0)))
        if self.config.get("record"):
            self.state.recorder.start(self.state.roles)

    async def running(self) -> None:
        ca_cert, ca_key = self.config.get("ca_cert"), self.config.get("ca_key")
        if ca_cert and ca_key:
            self.certs = CertMaker(Path(ca_cert), Path(ca_key))
        self.saboteur = Saboteur(self.certs, self._saboteur_event)
        await self.saboteur.start()
        workdir = self.config.get("workdir")
        self._watchdog = asyncio.create_task(_exit_with_parent(os.getppid(), workdir))
        ready = self.config.get("ready_file")
        if ready:
            info = {
                "saboteur_http": self.saboteur.http_port,
                "saboteur_tls": self.saboteur.tls_port,
            }
            Path(ready).write_text(json.dumps(info))

    async def done(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self.saboteur is not None:
            await self.saboteur.stop()
        if self.certs is not None:
            self.certs.close()

    # ---- connection-level faults ----

    def client_connected(self, client: Any) -> None:
        self._opened[client.id] = time.monotonic()
        self.state.stats["connections"] += 1

    def client_disconnected(self, client: Any) -> None:
        self._opened.pop(client.id, None)
        fault = self._tls_faults.pop(client.id, None)
        host = self._tls_hosts.pop(client.id, None)
        if fault is not None and host is not None and client.id not in self._tls_used:
            detail = "the client refused after the handshake: it closed without a request"
            self.state.book.note(fault, host, detail=detail)
        self._tls_used.discard(client.id)
        self._passthrough.pop(client.id, None)

    def _older_than_fault(self, flow: http.HTTPFlow, host: str) -> NetFault | None:
        opened = self._opened.get(flow.client_conn.id)
        if opened is None:
            return None
        return self.state.book.started_since(CONNECTION_KINDS, host, opened)

    def http_connect(self, flow: http.HTTPFlow) -> None:
        """CONNECT from a client that honours HTTPS_PROXY: refuse unrouted hosts and DNS faults."""
        if self._is_control(flow):
            flow.response = _refusal(405, "the control listener does not tunnel")
            return
        host = flow.request.host.lower()
        fault = self.state.book.pick(("dns_failure",), host)
        if fault is not None:
            self.state.book.note(fault, host, "CONNECT", "", "name not resolved: 502 to CONNECT")
            flow.response = _refusal(502, f"asmkit proxy: DNS failure for {host} (injected)")
        elif host not in self.state.routes and not self.state.allow_real:
            self.state.stats["unrouted"] += 1
            flow.response = _refusal(502, f"asmkit proxy: no route for {host}; nothing leaves")

    def _tls_host(self, context: Any, sni: str | None) -> str:
        if sni:
            return sni.lower()
        address = getattr(context.server, "address", None)
        return str(address[0]).lower() if address else ""

    def tls_clienthello(self, data: tls.ClientHelloData) -> None:
        """GOAWAY and a refused handshake need the raw connection: pass it to the saboteur."""
        host = self._tls_host(data.context, data.client_hello.sni)
        fault = self.state.book.pick(PASSTHROUGH_KINDS, host)
        if fault is None or self.saboteur is None or not self.saboteur.tls_port:
            return
        data.ignore_connection = True
        self._passthrough[data.context.client.id] = fault
        if fault.kind == "goaway":
            self.saboteur.goaway_faults[host] = fault
        else:
            detail = "answered the ClientHello with a fatal handshake_failure alert"
            self.state.book.note(fault, host, detail=detail)

    def server_connect(self, data: server_hooks.ServerConnectionHookData) -> None:
        fault = self._passthrough.pop(data.client.id, None)
        if fault is not None and self.saboteur is not None:
            port = self.saboteur.tls_port if fault.kind == "goaway" else self.saboteur.alert_port
            data.server.address = ("127.0.0.1", port)

    def tls_start_client(self, data: tls.TlsData) -> None:
        host = self._tls_host(data.context, data.conn.sni)
        fault = self.state.book.pick(CERT_KINDS, host)
        if fault is None or self.certs is None:
            return
        self._tls_faults[data.conn.id] = fault
        if data.ssl_conn is None:
            # Script addons run before mitmproxy's TlsConfig: let it build the connection first.
            ctx.master.addons.get("tlsconfig").tls_start_client(data)
        expired = fault.kind == "expired_certificate"
        cert, key = self.certs.leaf(host, "expired" if expired else "wrong_host")
        data.ssl_conn.use_certificate(cert)
        data.ssl_conn.use_privatekey(key)
        # No resumption: a client holding a TLS 1.3 ticket from a good connection (Node.js
        # keeps them) would resume without being shown a certificate at all. With OP_NO_TICKET
        # OpenSSL reads its ticket as a session id, finds none, and makes a full handshake.
        data.ssl_conn.set_options(SSL.OP_NO_TICKET)
        what = "an expired certificate" if expired else f"a certificate for {WRONG_HOST}"
        self.state.book.note(fault, host, detail=f"presented {what}")

    def tls_failed_client(self, data: tls.TlsData) -> None:
        fault = self._tls_faults.pop(data.conn.id, None)
        if fault is not None:
            host = self._tls_host(data.context, data.conn.sni)
            self.state.book.note(fault, host, detail=f"the client refused: {data.conn.error}")

    def tls_established_client(self, data: tls.TlsData) -> None:
        """A completed handshake is not yet acceptance: Node.js, for one, checks the host name
        only after the handshake and then closes the connection. Acceptance is the client
        sending a request over it (`request`); a close without one is a refusal."""
        if data.conn.id in self._tls_faults:
            self._tls_hosts[data.conn.id] = self._tls_host(data.context, data.conn.sni)

    def _accepted(self, client_id: str, host: str) -> None:
        """The client sent a request over a connection with a bad certificate."""
        fault = self._tls_faults.get(client_id)
        if fault is not None and client_id not in self._tls_used:
            self._tls_used.add(client_id)
            self.state.stats["accepted_bad_certificate"] += 1
            self.state.book.note(fault, host, detail="ACCEPTED by the client (fails open on TLS)")

    # ---- requests ----

    def _is_control(self, flow: http.HTTPFlow) -> bool:
        sockname = flow.client_conn.sockname
        return bool(sockname) and sockname[1] == self.control_port

    async def request(self, flow: http.HTTPFlow) -> None:
        if self._is_control(flow):
            flow.response = self._control(flow)
            return
        host = flow.request.host.lower()
        flow.metadata["asmkit_host"] = host
        flow.metadata["asmkit_started"] = time.monotonic()
        self.state.stats["requests"] += 1
        if flow.client_conn.id in self._tls_faults:
            self._accepted(flow.client_conn.id, host)
            self._answer(flow, 502, "asmkit proxy: refused, the TLS certificate was bad")
            return
        path = flow.request.path.split("?", 1)[0]
        stale = self._older_than_fault(flow, host)
        if stale is not None:
            detail = "closed a connection opened before the fault: the client must reconnect"
            self.state.book.note(stale, host, flow.request.method, path, detail)
            flow.kill()
            return
        # Plain-HTTP requests to the proxy name their host like a CONNECT does; a client that
        # reached a reverse listener had already resolved the name (kept connections, caches).
        dns = (
            None
            if flow.client_conn.tls_established
            else self.state.book.pick(("dns_failure",), host)
        )
        if dns is not None:
            self.state.book.note(dns, host, flow.request.method, path, "name not resolved: 502")
            self._answer(flow, 502, f"asmkit proxy: DNS failure for {host} (injected)")
            return
        upstream = self.state.routes.get(host)
        if upstream is None and not self.state.allow_real:
            self.state.stats["unrouted"] += 1
            self._answer(flow, 502, f"asmkit proxy: no route for {host}; nothing leaves")
            return
        fault = self.state.book.pick(REQUEST_KINDS, host, flow.request.method, path)
        if fault is not None:
            flow.metadata["asmkit_fault"] = fault
            await self._before(fault, flow, host, path)
        if upstream is not None:
            self._route(flow, upstream, fault)

    def _answer(self, flow: http.HTTPFlow, status: int, message: str) -> None:
        """The proxy answers itself (never recorded: a cassette holds what the platform said)."""
        flow.metadata["asmkit_local"] = True
        flow.response = _refusal(status, message)

    async def _before(self, fault: NetFault, flow: http.HTTPFlow, host: str, path: str) -> None:
        method = flow.request.method
        if fault.kind == "latency":
            delay = self.state.book.delay(fault)
            self.state.book.note(fault, host, method, path, f"delayed {delay * 1000:.0f}ms")
            await asyncio.sleep(delay)
        elif fault.kind == "bandwidth":
            size = len(flow.request.raw_content or b"")
            if size and fault.rate_bps:
                await asyncio.sleep(size / fault.rate_bps)
        elif fault.kind == "truncated_gzip":
            self.state.book.note(fault, host, method, path, "answer sent as truncated gzip")

    def _route(self, flow: http.HTTPFlow, upstream: str, fault: NetFault | None) -> None:
        original = flow.request.host_header
        if fault is not None and fault.kind in SABOTEUR_KINDS and self.saboteur is not None:
            request = flow.request
            path = request.path.split("?", 1)[0]
            host = flow.metadata["asmkit_host"]
            ticket = self.saboteur.ticket(fault, upstream, host, request.method, path)
            flow.request.headers[TICKET_HEADER] = ticket
            flow.metadata["asmkit_saboteur"] = flow.metadata["asmkit_host"]
            target = ("http", "127.0.0.1", self.saboteur.http_port)
        else:
            parts = urlsplit(upstream)
            port = parts.port or (443 if parts.scheme == "https" else 80)
            target = (parts.scheme, parts.hostname or "127.0.0.1", port)
        flow.request.scheme, flow.request.host, flow.request.port = target
        flow.request.host_header = original

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        if "asmkit_saboteur" in flow.metadata and flow.response is not None:
            flow.response.stream = True

    def response(self, flow: http.HTTPFlow) -> None:
        if "asmkit_host" not in flow.metadata or flow.metadata.get("asmkit_local"):
            return
        self._record(flow, None)
        fault = flow.metadata.get("asmkit_fault")
        if isinstance(fault, NetFault) and fault.kind == "truncated_gzip" and flow.response:
            import gzip

            packed = gzip.compress(flow.response.raw_content or b"")
            flow.response.raw_content = packed[: max(1, len(packed) // 2)]
            flow.response.headers["content-encoding"] = "gzip"
            flow.response.headers["content-length"] = str(len(flow.response.raw_content))

    def error(self, flow: http.HTTPFlow) -> None:
        if "asmkit_host" in flow.metadata:
            self.state.stats["errors"] += 1
            self._record(flow, str(flow.error) if flow.error else "error")

    def _record(self, flow: http.HTTPFlow, error: str | None) -> None:
        recorder = self.state.recorder
        if not recorder.on:
            return
        request = flow.request
        headers = [
            (k, v) for k, v in request.headers.items(multi=True) if k.lower() != TICKET_HEADER
        ]
        sent = Message(
            headers=headers,
            body=request.raw_content or b"",
            method=request.method,
            path=request.path.split("?", 1)[0],
            query=list(request.query.items(multi=True)),
        )
        answer = None
        if flow.response is not None:
            answer = Message(
                headers=list(flow.response.headers.items(multi=True)),
                body=flow.response.raw_content or b"",
                status=flow.response.status_code,
            )
        fault = flow.metadata.get("asmkit_fault")
        recorder.add(
            host=flow.metadata["asmkit_host"],
            started=flow.metadata.get("asmkit_started", time.monotonic()),
            request=sent,
            response=answer,
            error=error,
            fault=fault.label if isinstance(fault, NetFault) else None,
        )

    # ---- control ----

    def _control(self, flow: http.HTTPFlow) -> http.Response:
        if flow.request.headers.get(TOKEN_HEADER, "") != self.token:
            return _json_response(403, {"error": f"missing or wrong {TOKEN_HEADER}"})
        raw = flow.request.raw_content or b""
        if len(raw) > MAX_CONTROL_BODY:
            return _json_response(413, {"error": "control request too large"})
        try:
            body = json.loads(raw) if raw else {}
            status, answer = handle(self.state, flow.request.method, flow.request.path, body)
        except ValueError as exc:
            return _json_response(400, {"error": f"body is not JSON: {exc}"})
        except ControlError as exc:
            return _json_response(exc.status, {"error": str(exc)})
        return _json_response(status, answer)

    def _saboteur_event(
        self, fault: NetFault, host: str, method: str, path: str, detail: str
    ) -> None:
        self.state.book.note(fault, host, method, path, detail)


async def _exit_with_parent(parent: int, workdir: str | None) -> None:
    """The kit starts mitmdump in its own session (Ctrl-C is the kit's to handle); if the kit
    dies without stopping it, it stops itself within a second and removes the work folder the
    kit made for it (it holds a copy of the CA key)."""
    while os.getppid() == parent:
        await asyncio.sleep(1.0)
    LOG.warning("asmkit proxy: the kit (pid %d) is gone; shutting down", parent)
    if workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    ctx.master.shutdown()


addons = [AsmkitProxy()]
