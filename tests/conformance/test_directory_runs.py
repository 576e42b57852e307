"""A case with a directory, run for real: the trace shows the binds and searches the adapter
made, interleaved with the flow, and neither the service account's nor a user's password
reaches the result, whether the case passes or fails."""

from __future__ import annotations

import dataclasses
import json

from conformance.results import Outcome, ScenarioResult
from live.profile import BUNDLED_PROFILE, load_profile
from scenarios import LIBRARY, load_scenario
from tests.conformance.test_broken_adapters import profile_for, run

CASE = "ldap_auth/valid-ldap-credentials-allowed"


def _published(result: ScenarioResult) -> str:
    return json.dumps(dataclasses.asdict(result), default=str)


def _passwords() -> list[str]:
    directory = load_scenario(LIBRARY / f"{CASE}.scenario.yaml").scenario.directory
    assert directory is not None
    return directory.secrets()


def test_the_trace_shows_the_directory_and_no_password() -> None:
    result = run(CASE, load_profile(BUNDLED_PROFILE))
    assert result.outcome == Outcome.PASSED, result.failure and result.failure.render()
    lines = [t.summary for t in result.trace if t.kind == "directory"]
    assert "directory bind cn=reader,dc=asmkit,dc=test -> success" in lines
    assert "directory bind uid=alice,ou=people,dc=asmkit,dc=test -> invalid_credentials" in lines
    assert any("(uid=bob): 1 entry -> success" in line for line in lines), lines
    published = _published(result)
    assert all(password not in published for password in _passwords())


def test_a_failure_shows_no_password_either() -> None:
    result = run(CASE, profile_for("broken_ldap_adapters:create_any_ldap_password"))
    assert result.outcome == Outcome.FAILED
    published = _published(result)
    assert "<redacted:" in published
    assert all(password not in published for password in _passwords())
