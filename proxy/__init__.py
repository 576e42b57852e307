"""The proxy room: mitmproxy between an unmodified adapter and the platform hosts it is
hard-wired to. It redirects that traffic to the fake control plane (through ``HTTPS_PROXY`` or a
network namespace that needs no cooperation), records it into cassettes, and breaks the link on
demand (network faults). The code that runs inside mitmdump is ``proxy.mitm``."""

from proxy.netfaults import NetworkFault, NetworkFaultKind

__all__ = ["NetworkFault", "NetworkFaultKind"]
