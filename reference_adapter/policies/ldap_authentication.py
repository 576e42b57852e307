"""ldap-authentication (Basic Auth: LDAP): HTTP Basic credentials are checked against an LDAP
server with ldap3 (bind as the service account, search the user, bind as the user). The one
policy that needs I/O: the live adapter awaits `check_async`; the synchronous path (virtual
time) answers 503. An unreachable or misconfigured server is a 503 naming it, never a pass."""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from reference_adapter.contracts import Contract
from reference_adapter.model import CheckInput, Decision, Denial
from reference_adapter.policies.base import ConfigReader, PolicyContext
from reference_adapter.policies.client_id_enforcement import BASIC_CHALLENGE
from reference_adapter.policies.credentials import parse_basic


class LdapUnavailable(Exception):
    """The LDAP server cannot be used (unreachable, service bind refused, bad search)."""


@dataclass(frozen=True, slots=True)
class LdapConfig:
    url: str
    bind_dn: str
    bind_password: str
    search_base: str
    search_filter: str
    subtree: bool
    timeout_s: float

    @classmethod
    def parse(cls, configuration: Mapping[str, Any] | None) -> LdapConfig:
        reader = ConfigReader(LdapAuthentication.asset_id, configuration)
        url = reader.string("ldapServerURL")
        if not url.startswith(("ldap://", "ldaps://")):
            raise reader.error("ldapServerURL", url, "an ldap:// or ldaps:// URL")
        search_filter = reader.string("ldapSearchFilter", "(uid={0})")
        if "{0}" not in search_filter:
            raise reader.error("ldapSearchFilter", search_filter, "a filter with {0} for the user")
        return cls(
            url=url,
            bind_dn=reader.string("ldapServerUserDn"),
            bind_password=reader.string("ldapServerUserPassword"),
            search_base=reader.string("ldapSearchBase"),
            search_filter=search_filter,
            subtree=reader.boolean("ldapSearchInSubtree", True),
            timeout_s=reader.integer("ldapConnectionTimeout", 5000, minimum=1) / 1000.0,
        )


ConnectionFactory = Callable[[LdapConfig, str, str], Any]

SEARCH_ANSWERED = frozenset({0, 4})
"""LDAP result codes of a search that answered: success, sizeLimitExceeded (several entries
matched). Anything else (noSuchObject for a missing ldapSearchBase, a referral, insufficient
access) is the configuration or the server failing: 503, not a 401 for every user."""


def import_ldap3() -> Any:
    """Import ldap3 once, hiding pyasn1's import-time DeprecationWarnings (which test runs
    with ``-W error`` would turn into failures)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import ldap3
        import ldap3.core.exceptions
        import ldap3.utils.conv
    return ldap3


def ldap3_connection(config: LdapConfig, user: str, password: str) -> Any:
    """A bound-on-demand ldap3 connection (tests swap in ldap3's MOCK_SYNC strategy).

    ``timeout_s`` bounds the connect and every read: ldap3 sets it on the socket before
    connecting and keeps it when ``receive_timeout`` is None. ldap3's own ``receive_timeout``
    must stay unset: on Linux it packs SO_RCVTIMEO with ``struct.pack("LL", ...)``, so a float
    (``timeout_s`` always is one) fails every connection to a real server with struct.error.
    """
    ldap3 = import_ldap3()
    server = ldap3.Server(config.url, connect_timeout=config.timeout_s)
    return ldap3.Connection(server, user=user, password=password, read_only=True)


class LdapAuthentication:
    """The policy object; see the module docstring."""

    asset_id: ClassVar[str] = "ldap-authentication"
    uses_contracts: bool = False
    is_async: bool = True

    def __init__(self, config: LdapConfig, connect: ConnectionFactory = ldap3_connection):
        self.config = config
        self.connect = connect
        self._missing = Denial.of(401, "missing basic credentials", BASIC_CHALLENGE)
        self._invalid = Denial.of(401, "invalid basic credentials", BASIC_CHALLENGE)
        self._sync = Denial.of(503, "ldap-authentication needs the live adapter (LDAP I/O)")

    @classmethod
    def from_configuration(
        cls, configuration: Mapping[str, Any] | None, context: PolicyContext | None = None
    ) -> LdapAuthentication:
        config = LdapConfig.parse(configuration)
        import_ldap3()  # now, on the engine's thread, not later in a worker thread
        return cls(config)

    def check(
        self,
        request: CheckInput,
        now: float,
        decision: Decision,
        contracts: Mapping[str, Contract],
    ) -> Denial | None:
        return self._sync

    async def check_async(
        self,
        request: CheckInput,
        now: float,
        decision: Decision,
        contracts: Mapping[str, Contract],
    ) -> Denial | None:
        credentials = parse_basic(request.headers.get("authorization"))
        if credentials is None:
            return self._missing
        user, password = credentials
        if not password:  # an empty password would be an anonymous bind: never a pass
            return self._invalid
        try:
            ok = await asyncio.to_thread(self.authenticate, user, password)
        except LdapUnavailable as exc:
            return Denial.of(503, f"ldap-authentication: {exc}")
        return None if ok else self._invalid

    def authenticate(self, user: str, password: str) -> bool:
        """Blocking: True when ``user``/``password`` bind as the entry the search finds."""
        ldap3 = import_ldap3()
        ldap_error = ldap3.core.exceptions.LDAPException
        escape = ldap3.utils.conv.escape_filter_chars
        config = self.config
        try:
            service = self.connect(config, config.bind_dn, config.bind_password)
            try:
                if not service.bind():
                    raise LdapUnavailable(
                        f"the service account {config.bind_dn} cannot bind to {config.url}: "
                        "check ldapServerUserDn/ldapServerUserPassword"
                    )
                service.search(
                    config.search_base,
                    config.search_filter.replace("{0}", escape(user)),
                    search_scope=ldap3.SUBTREE if config.subtree else ldap3.LEVEL,
                    attributes=[],
                    size_limit=2,  # enough to tell one entry from several
                )
                result = service.result or {}
                if result.get("result", 0) not in SEARCH_ANSWERED:
                    raise LdapUnavailable(
                        f"searching {config.search_base} on {config.url} failed "
                        f"({result.get('description')}): check ldapSearchBase/ldapSearchFilter"
                    )
                entries = list(service.response or [])
            finally:
                _close(service)
            dns = [e["dn"] for e in entries if e.get("type", "searchResEntry") == "searchResEntry"]
            if len(dns) != 1:
                return False
            user_conn = self.connect(config, dns[0], password)
            try:
                return bool(user_conn.bind())
            finally:
                _close(user_conn)
        except ldap_error as exc:
            raise LdapUnavailable(f"cannot use LDAP server {config.url}: {exc}") from None


def _close(connection: Any) -> None:
    """Unbind and close the socket whatever state the connection is in."""
    with contextlib.suppress(Exception):
        connection.unbind()
    socket = getattr(connection, "socket", None)
    if socket is not None:
        with contextlib.suppress(Exception):
            socket.close()
