"""The live stack's link to the proxy for ``control_plane: {via: proxy}``: one mitmdump per kit
process (started on first use, stopped at exit), and per stack the routes to this stack's fake,
the adapter's redirect (namespace, relays, environment), recording, network faults and the log
of what they did."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fake_anypoint import ControlPlaneServer, ControlPlaneState
from fake_anypoint.cassette import Cassette, load_cassette, parse_cassette, write_cassette
from fake_anypoint.replay import Replayer
from fake_anypoint.tls import ensure_ca
from live.profile import ControlPlaneAccess
from proxy.ca import CaPaths, java_truststore
from proxy.control import ProxyControl
from proxy.mitm.redact import ALGORITHM, pseudonym
from proxy.mitmdump import MitmProxy, ProxySettings
from proxy.netfaults import NetworkFault
from proxy.redirect import Redirect

CA_DIR = Path("build") / "ca"
_PROXIES: dict[tuple[tuple[str, str], ...], MitmProxy] = {}
_LOCK = threading.Lock()


def kit_ca(folder: Path = CA_DIR) -> CaPaths:
    """The kit's test CA (the fake's HTTPS uses the same one), created on first use."""
    files = ensure_ca(folder)
    return CaPaths(files.ca_cert, files.ca_key)


def shared_proxy(hosts: dict[str, str]) -> MitmProxy:
    """This process's mitmdump for these platform hosts (started once, stopped at exit)."""
    key = tuple(sorted(hosts.items()))
    with _LOCK:
        proxy = _PROXIES.get(key)
        if proxy is not None and proxy.running():
            return proxy
        proxy = MitmProxy(ProxySettings(kit_ca(), dict(hosts)))
        proxy.start()
        if not _PROXIES:
            atexit.register(stop_shared_proxies)
        _PROXIES[key] = proxy
        return proxy


def stop_shared_proxies() -> None:
    with _LOCK:
        for proxy in _PROXIES.values():
            proxy.stop()
        _PROXIES.clear()


def pseudonyms(salt: str, identifiers: list[str]) -> dict[str, str]:
    """Pseudonym -> real id for ids this fake holds: how a cassette of this very fake (same
    seed) is re-identified when it is replayed (the recording itself stays redacted)."""
    return {pseudonym(salt, value): value for value in identifiers}


@dataclass
class ProxyLink:
    """One stack's use of the shared proxy."""

    access: ControlPlaneAccess
    proxy: MitmProxy
    redirect: Redirect
    control: ProxyControl
    events: list[dict[str, Any]] = field(default_factory=list)
    _events_from: int = 0
    _dns_timers: list[asyncio.TimerHandle] = field(default_factory=list)

    @classmethod
    async def open(cls, access: ControlPlaneAccess, server: ControlPlaneServer) -> ProxyLink:
        proxy = await asyncio.to_thread(shared_proxy, access.hosts)
        control = ProxyControl(proxy)
        routes = {access.platform_host.lower(): server.base_url}
        routes[access.ingest_host.lower()] = server.ingest_url
        await control.set_routes(routes, access.hosts)
        await control.clear_faults()
        _, following = await control.events(0)
        await control.recording(access.record is not None)
        redirect = Redirect(proxy, access.redirect, isolate=access.isolate)
        await redirect.open()
        return cls(access, proxy, redirect, control, _events_from=following)

    def variables(self, wanted: str) -> dict[str, Any]:
        """Placeholders a proxied profile may use (``{java_truststore}`` is made on demand)."""
        ca = self.proxy.settings.ca
        values: dict[str, Any] = {
            "control_plane_url": f"https://{self.access.platform_host}",
            "ingest_url": f"https://{self.access.ingest_host}",
            "proxy_url": self.proxy.proxy_url,
            "ca_file": str(ca.cert.resolve()),
        }
        if "{java_truststore}" in wanted:
            values["java_truststore"] = str(java_truststore(ca).resolve())
        return values

    async def apply(self, fault: NetworkFault) -> str:
        """Switch a network fault on (its window starts now); returns a one-line summary."""
        if fault.kind == "dns_failure" and self.redirect.mode == "netns":
            self._dns_window(fault)  # names resolve from the namespace's hosts file
        # The proxy applies it (and closes connections opened before it: the adapter must
        # reconnect, so resolve, handshake... into the fault).
        await self.control.set_faults([fault], add=True)
        return fault.summary()

    def _dns_window(self, fault: NetworkFault) -> None:
        """In a namespace names resolve from its hosts file: take the host out for the window."""
        hosts = {h for h, role in self.access.hosts.items() if fault.host in ("*", h, role)}
        loop = asyncio.get_running_loop()

        def fail() -> None:
            self.redirect.set_dns_failure(self.redirect.broken_dns | hosts)
            self.events.append(_dns_event(loop.time(), fault, hosts, "names stop resolving"))

        def heal() -> None:
            self.redirect.set_dns_failure(self.redirect.broken_dns - hosts)
            self.events.append(_dns_event(loop.time(), fault, hosts, "names resolve again"))

        self._dns_timers.append(loop.call_later(fault.after, fail))
        if fault.lasting is not None:
            self._dns_timers.append(loop.call_later(fault.after + fault.lasting, heal))

    async def clear(self) -> None:
        for timer in self._dns_timers:
            timer.cancel()
        self._dns_timers = []
        self.redirect.set_dns_failure(set())
        await self.control.clear_faults()

    async def close(self, cassette_path: Path | None) -> Cassette | None:
        """Take the recording (written to ``cassette_path``) and the fault log; undo the
        redirect. Called after the adapters stopped, so their last calls are in."""
        cassette = None
        try:
            for timer in self._dns_timers:
                timer.cancel()
            events, _ = await self.control.events(self._events_from)
            self.events = sorted([*self.events, *events], key=lambda e: float(e["at"]))
            if cassette_path is not None:
                cassette = parse_cassette(await self.control.take(), "the proxy's recording")
                write_cassette(cassette, cassette_path)
            await self.control.clear_faults()
            await self.control.recording(False)
        finally:
            with contextlib.suppress(Exception):
                await self.redirect.close()
        return cassette


def _dns_event(at: float, fault: NetworkFault, hosts: set[str], detail: str) -> dict[str, Any]:
    return {
        "at": at,
        "name": fault.label,
        "kind": fault.kind,
        "host": ",".join(sorted(hosts)),
        "method": "",
        "path": "",
        "detail": detail,
    }


class Reidentifier:
    """Pseudonym -> real id for the ids a fake holds now, computed once per id."""

    def __init__(self, salt: str, state: ControlPlaneState) -> None:
        self.salt = salt
        self.state = state
        self.mapping: dict[str, str] = {}
        self._seen: set[str] = set()

    def __call__(self) -> dict[str, str]:
        fresh = [i for i in self.state.identifiers() if i not in self._seen]
        if fresh:
            self.mapping.update(pseudonyms(self.salt, fresh))
            self._seen.update(fresh)
        return self.mapping


def replayer_for(access: ControlPlaneAccess, scenario: str, state: ControlPlaneState) -> Replayer:
    """The fake's replay of ``<replay folder>/<scenario>.cassette.json`` (``CassetteError`` if
    it is missing or invalid)."""
    assert access.replay is not None
    cassette = load_cassette(access.replay / f"{scenario}.cassette.json")
    same_algorithm = cassette.redaction.algorithm == ALGORITHM
    return Replayer(
        cassette,
        state.clock.now,
        access.replay_scope,
        reidentify=Reidentifier(cassette.redaction.salt, state) if same_algorithm else None,
    )


def cassette_path(access: ControlPlaneAccess, scenario: str) -> Path | None:
    return access.record / f"{scenario}.cassette.json" if access.record is not None else None
