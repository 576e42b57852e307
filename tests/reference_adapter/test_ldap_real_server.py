"""ldap-authentication against a real OpenLDAP slapd (marked ``ldap``): the bind/search/bind
flow, search filter and scope, the service account, and a server that stops or hangs. slapd is
private to the tests (see slapd_server.py): 127.0.0.1, a free port, a temporary directory."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reference_adapter import Decision, DecisionEngine
from reference_adapter.adapter import ReferenceAdapter

from .fake_platform import FakePlatform
from .grpc_helpers import call_check, check_request
from .helpers import API, basic, engine_with, policy, req
from .slapd_server import (
    PASSWORDS,
    PEOPLE,
    SERVICE_DN,
    SERVICE_PASSWORD,
    STAFF,
    SUFFIX,
    SlapdServer,
)
from .test_adapter import run, settings

pytestmark = pytest.mark.ldap

CHALLENGE = ("www-authenticate", 'Basic realm="mule-realm"')
ALICE = {"authorization": basic("alice", PASSWORDS["alice"])}
BOB = {"authorization": basic("bob", PASSWORDS["bob"])}


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlapdServer]:
    server = SlapdServer(tmp_path_factory.mktemp("slapd"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def ldap_config(url: str, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "ldapServerURL": url,
        "ldapServerUserDn": SERVICE_DN,
        "ldapServerUserPassword": SERVICE_PASSWORD,
        "ldapSearchBase": PEOPLE,
        "ldapSearchFilter": "(uid={0})",
        "ldapSearchInSubtree": True,
        "ldapConnectionTimeout": 2000,
    }
    config.update(overrides)
    return config


def ldap_engine(url: str, **overrides: Any) -> DecisionEngine:
    return engine_with([policy("ldap-authentication", ldap_config(url, **overrides))])


def decide(engine: DecisionEngine, headers: dict[str, str]) -> Decision:
    return asyncio.run(engine.decide_async(req(headers), 0.0))


def error_of(decision: Decision) -> str:
    return str(json.loads(decision.body)["error"])


def assert_challenged(decision: Decision, error: str = "invalid basic credentials") -> None:
    assert not decision.allowed
    assert decision.status == 401 and CHALLENGE in decision.headers
    assert error_of(decision) == error
    assert decision.violation is not None and decision.violation.name == "ldap-authentication"


def test_valid_credentials_are_allowed(slapd: SlapdServer) -> None:
    engine = ldap_engine(slapd.url)
    assert engine.needs_async(API)
    for headers in (ALICE, BOB, {"authorization": basic("ALICE", PASSWORDS["alice"])}):
        decision = decide(engine, headers)
        assert decision.allowed and decision.status == 200  # uid matches case-insensitively


def test_wrong_password_unknown_user_and_injection_are_401(slapd: SlapdServer) -> None:
    engine = ldap_engine(slapd.url)
    for user, password in (
        ("alice", "not-wonderland"),
        ("alice", PASSWORDS["bob"]),  # another user's password
        ("mallory", PASSWORDS["alice"]),
        ("*", PASSWORDS["alice"]),
        ("alice)(uid=*", PASSWORDS["alice"]),
        ("alice", ""),  # would be an unauthenticated bind
    ):
        assert_challenged(decide(engine, {"authorization": basic(user, password)}))


def test_missing_or_unusable_authorization_is_401(slapd: SlapdServer) -> None:
    engine = ldap_engine(slapd.url)
    for headers in ({}, {"authorization": "Bearer abc"}, {"authorization": "Basic !!"}):
        assert_challenged(decide(engine, headers), "missing basic credentials")


def test_search_scope_decides_who_is_found(slapd: SlapdServer) -> None:
    one_level = ldap_engine(slapd.url, ldapSearchInSubtree=False)
    assert decide(one_level, ALICE).allowed  # uid=alice,ou=people
    assert_challenged(decide(one_level, BOB))  # uid=bob,ou=staff,ou=people: below one level
    subtree = ldap_engine(slapd.url, ldapSearchBase=SUFFIX)
    assert decide(subtree, ALICE).allowed and decide(subtree, BOB).allowed
    staff_only = ldap_engine(slapd.url, ldapSearchBase=STAFF)
    assert decide(staff_only, BOB).allowed
    assert_challenged(decide(staff_only, ALICE))


def test_search_filter_decides_who_is_found(slapd: SlapdServer) -> None:
    by_mail = ldap_engine(slapd.url, ldapSearchFilter="(mail={0})")
    assert decide(by_mail, {"authorization": basic("alice@asmkit.test", "wonderland")}).allowed
    assert_challenged(decide(by_mail, ALICE))  # "alice" is no mail address
    api_users = ldap_engine(slapd.url, ldapSearchFilter="(&(uid={0})(employeeType=api))")
    assert decide(api_users, ALICE).allowed
    assert_challenged(decide(api_users, BOB))  # right password, filtered out


def test_an_ambiguous_search_is_401(slapd: SlapdServer) -> None:
    engine = ldap_engine(slapd.url)  # uid=carol exists under ou=people and under ou=staff
    assert_challenged(decide(engine, {"authorization": basic("carol", PASSWORDS["carol"])}))
    one_level = ldap_engine(slapd.url, ldapSearchInSubtree=False)
    assert decide(one_level, {"authorization": basic("carol", PASSWORDS["carol"])}).allowed


def test_service_account_refused_is_503_never_a_pass(slapd: SlapdServer) -> None:
    for dn, password in ((SERVICE_DN, "not-the-reader-secret"), (f"cn=ghost,{SUFFIX}", "x")):
        engine = ldap_engine(slapd.url, ldapServerUserDn=dn, ldapServerUserPassword=password)
        for headers in (ALICE, {"authorization": basic("alice", "wrong")}):
            decision = decide(engine, headers)
            assert not decision.allowed and decision.status == 503
            assert CHALLENGE not in decision.headers
            assert error_of(decision) == (
                f"ldap-authentication: the service account {dn} cannot bind to {slapd.url}: "
                "check ldapServerUserDn/ldapServerUserPassword"
            )
        assert_challenged(decide(engine, {}), "missing basic credentials")  # no LDAP needed


def test_a_search_that_fails_is_503(slapd: SlapdServer) -> None:
    missing_base = ldap_engine(slapd.url, ldapSearchBase=f"ou=nobody,{SUFFIX}")
    decision = decide(missing_base, ALICE)
    assert decision.status == 503
    assert error_of(decision) == (
        f"ldap-authentication: searching ou=nobody,{SUFFIX} on {slapd.url} failed "
        "(noSuchObject): check ldapSearchBase/ldapSearchFilter"
    )
    bad_filter = ldap_engine(slapd.url, ldapSearchFilter="(uid={0}")
    decision = decide(bad_filter, ALICE)
    assert decision.status == 503 and slapd.url in error_of(decision)


def test_concurrent_requests_get_their_own_answers(slapd: SlapdServer) -> None:
    engine = ldap_engine(slapd.url)
    cases = [(ALICE, 200), (BOB, 200), ({"authorization": basic("bob", "x")}, 401)] * 4
    cases += [({"authorization": basic("ghost", "x")}, 401)] * 4

    async def go() -> list[int]:
        decisions = await asyncio.gather(*(engine.decide_async(req(h), 0.0) for h, _ in cases))
        return [d.status for d in decisions]

    assert asyncio.run(asyncio.wait_for(go(), 10.0)) == [status for _, status in cases]


def test_server_stopping_mid_run_is_503_then_recovers(tmp_path: Path) -> None:
    server = SlapdServer(tmp_path)
    server.start()
    try:
        engine = ldap_engine(server.url)
        assert decide(engine, ALICE).allowed
        port = server.port
        server.stop()
        for headers in (ALICE, BOB, {"authorization": basic("alice", "wrong")}):
            started = time.monotonic()
            decision = decide(engine, headers)
            assert not decision.allowed and decision.status == 503
            assert error_of(decision).startswith(
                f"ldap-authentication: cannot use LDAP server {server.url}: "
            )
            assert time.monotonic() - started < 1.0  # connection refused: no waiting
        assert_challenged(decide(engine, {}), "missing basic credentials")
        server.start(port)  # same port, same data: the same policy works again
        assert decide(engine, ALICE).allowed
    finally:
        server.stop()


def test_a_hung_server_is_503_within_the_timeout(tmp_path: Path) -> None:
    server = SlapdServer(tmp_path)
    server.start()
    try:
        engine = ldap_engine(server.url, ldapConnectionTimeout=300)
        assert decide(engine, ALICE).allowed
        server.pause()  # the kernel still accepts connections; slapd never answers
        started = time.monotonic()
        decision = decide(engine, ALICE)
        elapsed = time.monotonic() - started
        assert not decision.allowed and decision.status == 503
        assert f"cannot use LDAP server {server.url}" in error_of(decision)
        assert 0.25 < elapsed < 3.0, elapsed  # bounded by the timeout, with room for a busy CI
        server.resume()
        assert decide(engine, ALICE).allowed
    finally:
        server.stop()


def test_live_adapter_enforces_ldap_over_grpc(slapd: SlapdServer) -> None:
    fake = FakePlatform()
    fake.add_api(API, [policy("ldap-authentication", ldap_config(slapd.url))])

    async def scenario() -> list[Any]:
        adapter = ReferenceAdapter(settings())
        await adapter.start()
        try:
            await adapter.wait_ready(3.0)
            answers = []
            for headers in (ALICE, BOB, {"authorization": basic("alice", "wrong")}, {}):
                answers.append(await call_check(adapter.grpc_port, check_request(headers)))
            direct = await adapter.handle(req({"authorization": basic("mallory", "x")}))
            return [*answers, direct]
        finally:
            await adapter.stop()

    alice, bob, wrong, missing, direct = run(fake, scenario)
    assert alice.status.code == 0 and bob.status.code == 0
    for response, error in ((wrong, "invalid"), (missing, "missing")):
        denied = response.denied_response
        assert response.status.code != 0 and denied.status.code == 401
        headers = {h.header.key: h.header.value for h in denied.headers}
        assert headers["www-authenticate"] == 'Basic realm="mule-realm"'
        assert json.loads(denied.body) == {"error": f"{error} basic credentials"}
    assert direct.status == 401 and CHALLENGE in direct.headers
