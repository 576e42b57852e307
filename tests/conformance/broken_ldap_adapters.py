"""Deliberately broken variants of the reference adapter's ldap-authentication, each with one
plausible bug the scenario directory lets the suite see: every user refused (an adapter that
only ever answers the challenge), any password accepted once the user is found (the user bind
skipped), and the user name put into the filter unescaped with the first entry taken. Factories
as in `tests.conformance.broken_adapters`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from reference_adapter.adapter import ReferenceAdapter
from reference_adapter.policies.ldap_authentication import (
    LdapAuthentication,
    LdapUnavailable,
    import_ldap3,
)
from tests.conformance.broken_adapters import _settings

Breaker = Callable[[LdapAuthentication], Callable[[str, str], bool]]


class BrokenLdap(ReferenceAdapter):
    """The reference adapter whose LDAP policies authenticate with ``breaker(policy)``."""

    def __init__(self, settings: Any, breaker: Breaker) -> None:
        super().__init__(settings)
        engine = self.engine
        load = engine.load_policies

        def load_broken(
            api_id: str | int, policies: Sequence[Mapping[str, Any]], version: str | None = None
        ) -> str | None:
            error = load(api_id, policies, version)
            api = engine.api(api_id)
            for applied in api.chain if api is not None else ():
                if isinstance(applied.impl, LdapAuthentication):
                    applied.impl.authenticate = breaker(applied.impl)  # type: ignore[method-assign,assignment]
            return error

        engine.load_policies = load_broken  # type: ignore[method-assign]


def _refuse_everyone(policy: LdapAuthentication) -> Callable[[str, str], bool]:
    return lambda user, password: False


def _user_found_is_enough(policy: LdapAuthentication) -> Callable[[str, str], bool]:
    """Searches the user as the service account and stops there: the password is never
    checked (no bind as the entry)."""

    def authenticate(user: str, password: str) -> bool:
        return _search(policy, user, escape=True) != []

    return authenticate


def _unescaped_first_entry(policy: LdapAuthentication) -> Callable[[str, str], bool]:
    """Puts the user name into the filter as it came and binds as the first entry found."""

    def authenticate(user: str, password: str) -> bool:
        found = _search(policy, user, escape=False)
        if not found:
            return False
        connection = policy.connect(policy.config, found[0], password)
        try:
            return bool(connection.bind())
        finally:
            connection.unbind()

    return authenticate


def _search(policy: LdapAuthentication, user: str, *, escape: bool) -> list[str]:
    ldap3 = import_ldap3()
    config = policy.config
    name = ldap3.utils.conv.escape_filter_chars(user) if escape else user
    service = policy.connect(config, config.bind_dn, config.bind_password)
    try:
        return _dns(ldap3, config, service, config.search_filter.replace("{0}", name))
    except ldap3.core.exceptions.LDAPException as exc:
        raise LdapUnavailable(str(exc)) from None
    finally:
        service.unbind()


def _dns(ldap3: Any, config: Any, service: Any, search_filter: str) -> list[str]:
    if not service.bind():
        raise LdapUnavailable("the service account cannot bind")
    service.search(
        config.search_base,
        search_filter,
        search_scope=ldap3.SUBTREE if config.subtree else ldap3.LEVEL,
        attributes=[],
    )
    return [e["dn"] for e in service.response or [] if e.get("type") == "searchResEntry"]


def create_refuses_every_ldap_user(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return BrokenLdap(_settings(settings), _refuse_everyone)


def create_any_ldap_password(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return BrokenLdap(_settings(settings), _user_found_is_enough)


def create_unescaped_ldap_filter(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return BrokenLdap(_settings(settings), _unescaped_first_entry)
