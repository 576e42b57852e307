"""ip-allowlist and ip-blocklist (extended profile). Which address counts is explicit:
``ipExpression`` ``#[attributes.remoteAddress]`` (default: the downstream peer Envoy reports) or
a header such as ``#[attributes.headers['x-forwarded-for']]`` (its first, client-most entry).
``ips``: addresses, CIDR ranges and leading IPv4 octets (``192.168``). 403 ``IP is rejected``."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from reference_adapter.contracts import Contract
from reference_adapter.model import CheckInput, Decision, Denial
from reference_adapter.policies.base import ConfigReader, PolicyContext, header_from_expression

REMOTE_ADDRESS = "#[attributes.remoteAddress]"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _parse(reader: ConfigReader) -> tuple[str | None, tuple[Network, ...]]:
    expression = reader.string("ipExpression", REMOTE_ADDRESS).strip()
    header = (
        None
        if expression.replace(" ", "") == REMOTE_ADDRESS
        else header_from_expression(reader, "ipExpression", expression)
    )
    raw = reader.list_of("ips")
    networks: list[Network] = []
    for entry in raw:
        try:
            networks.append(network_of(str(entry)))
        except ValueError:
            raise reader.error(
                "ips", entry, "IP addresses, CIDR ranges or leading IPv4 octets (192.168)"
            ) from None
    return header, tuple(networks)


_LEADING_OCTETS = re.compile(r"^\d{1,3}(\.\d{1,3}){0,2}$")


def network_of(entry: str) -> Network:
    """One ``ips`` entry: an address, a CIDR range, or (MuleSoft's IP Allowlist page) "the
    relevant octets of the IP address", ``192.168`` meaning 192.168.0.0 through
    192.168.255.255. Leading octets are read so, never as an integer address."""
    entry = entry.strip()
    if _LEADING_OCTETS.match(entry):
        octets = entry.split(".")
        padded = ".".join(octets + ["0"] * (4 - len(octets)))
        return ipaddress.ip_network(f"{padded}/{8 * len(octets)}")
    return ipaddress.ip_network(entry, strict=False)


class _IpFilter:
    asset_id: ClassVar[str] = ""
    uses_contracts: bool = False
    is_async: bool = False
    allow_listed: ClassVar[bool] = True

    def __init__(self, header: str | None, networks: tuple[Network, ...]) -> None:
        self.header = header
        self.networks = networks
        self._denial = Denial.of(403, "IP is rejected")

    @classmethod
    def from_configuration(
        cls, configuration: Mapping[str, Any] | None, context: PolicyContext | None = None
    ) -> _IpFilter:
        return cls(*_parse(ConfigReader(cls.asset_id, configuration)))

    def address(self, request: CheckInput) -> str:
        if self.header is None:
            return request.source_ip
        return request.headers.get(self.header, "").split(",")[0].strip()

    def listed(self, request: CheckInput) -> bool | None:
        """Whether the address is in ``ips`` (None when it is missing or not an IP)."""
        try:
            ip = ipaddress.ip_address(self.address(request))
        except ValueError:
            return None
        return any(ip in network for network in self.networks)

    def check(
        self,
        request: CheckInput,
        now: float,
        decision: Decision,
        contracts: Mapping[str, Contract],
    ) -> Denial | None:
        listed = self.listed(request)
        if listed is None:  # no usable address: never a pass for an allowlist
            return self._denial if self.allow_listed else None
        return None if listed == self.allow_listed else self._denial


class IpAllowlist(_IpFilter):
    """Only listed addresses pass."""

    asset_id: ClassVar[str] = "ip-allowlist"
    allow_listed: ClassVar[bool] = True


class IpBlocklist(_IpFilter):
    """Listed addresses are rejected."""

    asset_id: ClassVar[str] = "ip-blocklist"
    allow_listed: ClassVar[bool] = False
