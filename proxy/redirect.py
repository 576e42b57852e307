"""Putting an adapter's platform traffic through the proxy without changing the adapter.

- ``env``: the adapter's ``HTTPS_PROXY``/``HTTP_PROXY`` name the proxy (for clients that honour
  them: Go's default transport, curl, Python httpx/requests...).
- ``netns``: no cooperation needed. The adapter runs in a namespace whose ``hosts`` file answers
  each platform host with its own loopback address (127.0.0.2, .3, ...); port 443 there leads to
  the proxy's reverse listener for that host, which terminates TLS with a certificate from the
  kit CA and forwards to the fake.

With ``isolate`` (the default, and always for ``netns``), the adapter runs in a namespace with
only loopback: the proxy (and its own ports, relayed out to the kit) are all it can reach.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Literal

from proxy.mitmdump import MitmProxy
from proxy.netns import Namespace
from proxy.relay import Relay, loopback_listener, opener_to

RedirectMode = Literal["env", "netns"]
HTTPS_PORT = 443
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy")


def host_addresses(hosts: list[str]) -> dict[str, str]:
    """Each platform host's address inside the namespace: 127.0.0.2, 127.0.0.3, ..."""
    return {host: f"127.0.0.{2 + index}" for index, host in enumerate(hosts)}


class Redirect:
    """One adapter group's way to the proxy: environment, namespace, relays."""

    def __init__(self, proxy: MitmProxy, mode: RedirectMode, *, isolate: bool = True) -> None:
        self.proxy = proxy
        self.mode = mode
        self.isolate = isolate or mode == "netns"
        self.namespace: Namespace | None = None
        self.relays: list[Relay] = []
        self._exposed: set[int] = set()
        self.addresses = host_addresses(list(proxy.settings.hosts))
        self.broken_dns: set[str] = set()

    async def open(self) -> None:
        """Create the namespace and the relays from it to the proxy."""
        if not self.isolate:
            return
        names = self.addresses if self.mode == "netns" else {}
        self.namespace = Namespace(names)
        await asyncio.to_thread(self.namespace.create)
        try:
            if self.mode == "netns":
                for host, address in self.addresses.items():
                    port = self.proxy.reverse_ports[host]
                    await self._into_namespace(address, HTTPS_PORT, port, f"{host}:443")
            else:
                port = self.proxy.proxy_port
                await self._into_namespace("127.0.0.1", port, port, "proxy")
        except BaseException:
            await self.close()
            raise

    async def _into_namespace(self, address: str, port: int, proxy_port: int, label: str) -> None:
        assert self.namespace is not None
        listener = await self.namespace.listen(address, port)
        relay = Relay(listener, opener_to("127.0.0.1", proxy_port), label)
        await relay.start()
        self.relays.append(relay)

    async def reach(self, port: int) -> None:
        """Let the adapter reach the kit's ``127.0.0.1:port`` at the same address in its
        namespace (a shared service such as Redis; the platform hosts go through the proxy)."""
        if self.namespace is not None:
            await self._into_namespace("127.0.0.1", port, port, f"service:{port}")

    def env(self) -> dict[str, str]:
        """Environment for the adapter: the proxy variables in ``env`` mode."""
        if self.mode != "env":
            return {}
        url = self.proxy.proxy_url
        return {**dict.fromkeys(PROXY_VARIABLES, url), "NO_PROXY": "", "no_proxy": ""}

    def wrap(self, argv: list[str]) -> list[str]:
        """The adapter's command, run inside the namespace when there is one."""
        return [*self.namespace.prefix(), *argv] if self.namespace else list(argv)

    async def expose(self, port: int) -> None:
        """Make the adapter's port ``port`` (in the namespace) reachable on the kit's loopback
        (once: a restarted adapter listens on the same port again)."""
        if self.namespace is None or port in self._exposed:
            return
        self._exposed.add(port)
        namespace = self.namespace

        async def open_() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
            return await namespace.connect("127.0.0.1", port)

        relay = Relay(loopback_listener(port), open_, f"adapter:{port}")
        await relay.start()
        self.relays.append(relay)

    async def reachable(self, port: int) -> bool:
        """Does the adapter accept connections on ``port`` (checked where it runs)?"""
        try:
            if self.namespace is not None:
                _, writer = await self.namespace.connect("127.0.0.1", port, timeout_s=1.0)
            else:
                _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 1.0)
        except (OSError, TimeoutError):
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True

    def set_dns_failure(self, hosts: set[str]) -> bool:
        """Make ``hosts`` stop resolving in the namespace (empty set: all resolve again).
        Returns False when there is no namespace ``hosts`` file to change (``env`` mode: the
        proxy refuses the CONNECT instead)."""
        if self.namespace is None or self.mode != "netns":
            return False
        self.broken_dns = set(hosts)
        live = {h: a for h, a in self.addresses.items() if h not in self.broken_dns}
        self.namespace.set_hosts(live)
        return True

    async def close(self) -> None:
        for relay in self.relays:
            await relay.close()
        self.relays = []
        if self.namespace is not None:
            await asyncio.to_thread(self.namespace.delete)
            self.namespace = None
