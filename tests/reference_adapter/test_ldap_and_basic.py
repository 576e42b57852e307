"""http-basic-authentication, and ldap-authentication against ldap3's in-memory mock server
(the bind/search/bind flow is the same against a real server)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from reference_adapter import DecisionEngine
from reference_adapter.policies.ldap_authentication import (
    LdapAuthentication,
    LdapConfig,
    import_ldap3,
)

from .helpers import API, basic, engine_with, policy, req

CHALLENGE = ("www-authenticate", 'Basic realm="mule-realm"')
LDAP_CONFIG = {
    "ldapServerURL": "ldap://ldap.test:389",
    "ldapServerUserDn": "cn=admin,dc=example,dc=org",
    "ldapServerUserPassword": "adminpw",
    "ldapSearchBase": "ou=people,dc=example,dc=org",
    "ldapSearchFilter": "(uid={0})",
    "ldapSearchInSubtree": True,
}


def test_http_basic_authentication():
    engine = engine_with(
        [policy("http-basic-authentication", {"username": "alice", "password": "pw"})]
    )
    assert engine.decide(req({"authorization": basic("alice", "pw")}), 0).allowed
    for headers in (
        {},
        {"authorization": basic("alice", "nope")},
        {"authorization": basic("bob", "pw")},
    ):
        d = engine.decide(req(headers), 0)
        assert d.status == 401 and CHALLENGE in d.headers
        assert json.loads(d.body)["error"].endswith("basic credentials")
    error = DecisionEngine().load_policies(
        API, [policy("http-basic-authentication", {"username": "a"})]
    )
    assert error is not None and "password is required" in error


@pytest.fixture
def mock_ldap():
    ldap3 = import_ldap3()
    server = ldap3.Server("ldap.test")

    def connect(config: Any, user: str, password: str) -> Any:
        return ldap3.Connection(
            server, user=user, password=password, client_strategy=ldap3.MOCK_SYNC
        )

    seed = connect(None, "cn=admin,dc=example,dc=org", "adminpw")
    seed.strategy.add_entry(
        "cn=admin,dc=example,dc=org", {"userPassword": "adminpw", "cn": "admin"}
    )
    seed.strategy.add_entry(
        "uid=alice,ou=people,dc=example,dc=org",
        {"userPassword": "wonderland", "uid": "alice", "objectClass": "inetOrgPerson"},
    )
    return connect


def ldap_policy(mock_connect: Any, **config: Any) -> LdapAuthentication:
    return LdapAuthentication(LdapConfig.parse({**LDAP_CONFIG, **config}), mock_connect)


def run_check(policy_obj: LdapAuthentication, headers: dict[str, str]) -> Any:
    from reference_adapter.model import Decision

    return asyncio.run(policy_obj.check_async(req(headers), 0.0, Decision(API), {}))


def test_ldap_bind_search_bind(mock_ldap):
    p = ldap_policy(mock_ldap)
    assert run_check(p, {"authorization": basic("alice", "wonderland")}) is None
    for headers in (
        {"authorization": basic("alice", "wrong")},
        {"authorization": basic("mallory", "wonderland")},
        {"authorization": basic("alice", "")},
        {"authorization": basic("*", "wonderland")},
    ):
        denial = run_check(p, headers)
        assert denial is not None and denial.status == 401 and CHALLENGE in denial.headers
    assert run_check(p, {}).message == "missing basic credentials"


def test_ldap_service_account_refused_is_a_503(mock_ldap):
    p = ldap_policy(mock_ldap, ldapServerUserPassword="bad")
    denial = run_check(p, {"authorization": basic("alice", "wonderland")})
    assert denial.status == 503 and "ldapServerUserDn/ldapServerUserPassword" in denial.message


def test_ldap_unreachable_server_is_a_503_never_a_pass():
    p = LdapAuthentication(
        LdapConfig.parse(
            {**LDAP_CONFIG, "ldapServerURL": "ldap://127.0.0.1:9", "ldapConnectionTimeout": 500}
        )
    )
    denial = run_check(p, {"authorization": basic("alice", "wonderland")})
    assert denial.status == 503 and "cannot use LDAP server ldap://127.0.0.1:9" in denial.message


def test_ldap_through_the_engine():
    engine = engine_with([policy("ldap-authentication", LDAP_CONFIG)])
    assert engine.needs_async(API)
    assert engine.decide(req({"authorization": basic("a", "b")}), 0).status == 503  # sync path
    d = asyncio.run(engine.decide_async(req({}), 0))
    assert d.status == 401 and d.violation is not None
    assert d.violation.name == "ldap-authentication"


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"ldapServerURL": None}, "ldapServerURL is required"),
        ({"ldapServerURL": "http://x"}, "ldap:// or ldaps://"),
        ({"ldapSearchFilter": "(uid=alice)"}, "{0}"),
        ({"ldapSearchBase": None}, "ldapSearchBase is required"),
    ],
)
def test_ldap_bad_configuration(config, fragment):
    engine = DecisionEngine()
    error = engine.load_policies(API, [policy("ldap-authentication", {**LDAP_CONFIG, **config})])
    assert error is not None and fragment in error
    assert engine.decide(req(), 0).status == 503
