"""A scenario's ``identity_provider``: its fields are bounded and checked with the file, line,
key path and value; steps and ``${jwt...}`` / ``${identity_provider...}`` references must name
what it holds; the seed may only use its URLs; tokens are made with their claims' variables."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
from pydantic import ValidationError

from common.clock import MonotonicClock
from conformance.identity_steps import check_platform_token_kept, token_maker
from conformance.results import ScenarioResult
from conformance.validation import check_scenario_file
from conformance.variables import VariableError, Variables
from fake_anypoint import ControlPlaneState
from live.identity_provider import IdentityProvider
from scenarios import ScenarioError
from scenarios.identity import IdentityProviderSpec, TokenSpec

SCENARIO = """\
name: idp
description: The identity provider's references are checked.
features: [jwt-validation]
identity_provider:
  keys:
    - kid: k1
    - kid: k2
      published: false
  tokens:
    alice: {key: k1, claims: {client_id: "${applications.mobile.client_id}"}}
control_plane:
  apis:
    - key: orders
      policies:
        - key: jwt
          asset_id: jwt-validation
          configuration: {jwtKeyOrigin: jwks, jwksUrl: "${identity_provider.jwks_url}"}
  applications: [{key: mobile}]
steps:
  - request:
      api: orders
      headers: {authorization: "Bearer ${jwt.alice}"}
  - identity_provider: {publish: [k2], unpublish: [k1]}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "idp.scenario.yaml"
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str) -> str:
    try:
        return "\n".join(str(p) for p in check_scenario_file(write(tmp_path, text)))
    except ScenarioError as exc:
        return str(exc)


def test_a_valid_identity_provider_has_no_problem(tmp_path: Path) -> None:
    assert problems(tmp_path, SCENARIO) == ""


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("${jwt.alice}", "${jwt.bob}"),
            "steps[0].request.headers.authorization: ${jwt.bob}: no token named 'bob';"
            " known: alice",
        ),
        (
            ("${identity_provider.jwks_url}", "${identity_provider.keys_url}"),
            "no value named 'keys_url'; known: issuer, jwks_url, openid_configuration_url, url",
        ),
        (
            ("publish: [k2]", "publish: [k3]"),
            ":23:35: steps[1].identity_provider.publish[0]: no key with kid 'k3'; keys: k1, k2",
        ),
        (
            ("${identity_provider.jwks_url}", "${applications.mobile.client_id}"),
            "control_plane.apis[0].policies[0].configuration.jwksUrl: ${applications.mobile."
            "client_id}: the control-plane seed can only use ${identity_provider...}",
        ),
        (
            ("${applications.mobile.client_id}", "${jwt.alice}"),
            "identity_provider.tokens.alice.claims.client_id: ${jwt.alice}: a token's claims"
            " cannot hold another token",
        ),
        (
            ("    - kid: k2\n", "    - kid: k1\n"),
            ":7:7: identity_provider.keys[1].kid: kid 'k1' is used twice",
        ),
        (
            ("alice: {key: k1,", "alice: {key: k9,"),
            ":10:13: identity_provider.tokens.alice.key: no key with kid 'k9'; keys: k1, k2",
        ),
        (("    - kid: k1\n", "    - kid: k1\n      bits: 1024\n"), "keys[0].bits"),
        (("    - kid: k1\n", "    - kid: 'bad kid'\n"), "keys[0].kid"),
        (("claims: {", "claims: {exp: 5, "), "set exp with expires_in / not_before"),
    ],
)
def test_mistakes_are_named_with_their_place(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    old, new = change
    assert old in SCENARIO
    assert expected in problems(tmp_path, SCENARIO.replace(old, new, 1))


def test_steps_and_tokens_need_an_identity_provider(tmp_path: Path) -> None:
    head, rest = SCENARIO.split("identity_provider:\n", 1)
    text = head + rest[rest.index("control_plane:") :]
    found = problems(tmp_path, text)
    assert (
        "steps[1].identity_provider: add a top-level identity_provider with its keys first" in found
    )
    found = problems(tmp_path, text.split("  - identity_provider:")[0])
    assert "${jwt.alice}: the scenario has no identity_provider" in found
    assert "${identity_provider.jwks_url}: the scenario has no identity_provider" in found


def test_claims_and_relative_times_are_bounded() -> None:
    assert TokenSpec(key="k1", expires_in="-5m").expires_in == -300.0
    assert TokenSpec(key="k1", not_before=-30).not_before == -30.0
    for bad in ({"expires_in": "5 minutes"}, {"expires_in": "-400d"}):
        with pytest.raises(ValidationError):
            TokenSpec(key="k1", **bad)
    with pytest.raises(ValidationError, match="at most 4096"):
        TokenSpec(key="k1", claims={"blob": "x" * 5000})
    nested: dict[str, Any] = {}
    node = nested
    for _ in range(10):
        node["n"] = {}
        node = node["n"]
    with pytest.raises(ValidationError, match="deeper than 8"):
        TokenSpec(key="k1", claims=nested)
    keys = [{"kid": f"k{i}"} for i in range(9)]
    with pytest.raises(ValidationError, match="at most 8"):
        IdentityProviderSpec.model_validate({"keys": keys})


def test_tokens_are_made_with_their_claims_variables_filled_in() -> None:
    spec = IdentityProviderSpec.model_validate(
        {
            "keys": [{"kid": "k1"}],
            "tokens": {
                "alice": {"key": "k1", "claims": {"client_id": "${applications.mobile.id}"}},
                "loop": {"key": "k1", "claims": {"me": "${jwt.loop}"}},
            },
        }
    )
    idp = IdentityProvider(spec, 0, ControlPlaneState(clock=MonotonicClock(), seed=0))
    variables = Variables({"applications": {"mobile": {"id": 42}}})
    variables.tokens = token_maker(idp, variables, now=lambda: 1_000.0)
    token = variables.substitute("Bearer ${jwt.alice}").removeprefix("Bearer ")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["client_id"] == 42 and claims["iat"] == 1000
    with pytest.raises(VariableError, match="its claims name a token being made"):
        variables.substitute("${jwt.loop}")
    with pytest.raises(VariableError, match="no token 'nobody'"):
        variables.substitute("${jwt.nobody}")
    with pytest.raises(VariableError, match="has no identity_provider"):
        Variables({}).substitute("${jwt.alice}")


def test_a_case_whose_adapter_leaked_its_platform_token_fails() -> None:
    idp = SimpleNamespace(leaks=["GET /.well-known/jwks.json"])
    scenario = SimpleNamespace(steps=[1, 2])
    run: Any = SimpleNamespace(
        stack=SimpleNamespace(identity_provider=idp),
        source=SimpleNamespace(scenario=scenario, path=Path("x.scenario.yaml")),
    )
    result = ScenarioResult(name="x", path="x", description="", features=[], seed=0)
    check_platform_token_kept(run, result)
    assert result.failure is not None and result.failure.step_index == 2
    assert "sent its Anypoint access token to the identity provider" in result.failure.message
    idp.leaks = []
    clean = ScenarioResult(name="x", path="x", description="", features=[], seed=0)
    check_platform_token_kept(run, clean)
    assert clean.failure is None
