"""The scenario identity provider: seeded RSA keys (same seed and kid, same key), JWKS documents
in the shape real IdPs publish that PyJWT (what the reference adapter uses) reads, tokens made
from claims with times relative to now, rotation, the ``jwks`` faults, the journal, and filling
``${identity_provider.*}`` into the control-plane seed."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import jwt
import pytest

from common.clock import MonotonicClock
from fake_anypoint import ControlPlaneSpec, ControlPlaneState, FaultSpec
from live.identity_provider import (
    IDP_VARIABLES,
    MAX_TOKEN_BYTES,
    IdentityProvider,
    IdentityProviderMissing,
    TokenError,
    fill_identity_provider,
    start_identity_provider,
)
from live.idp_keys import public_jwk, rsa_key
from scenarios.identity import IdentityProviderChange, IdentityProviderSpec

SPEC = IdentityProviderSpec.model_validate(
    {
        "keys": [{"kid": "k1"}, {"kid": "k2", "published": False, "alg": "RS384"}],
        "tokens": {
            "alice": {"key": "k1", "claims": {"sub": "alice", "aud": "orders-api"}},
            "late": {"key": "k1", "expires_in": "-5m", "not_before": "10m"},
            "forged": {"key": "k2", "kid": "k1", "alg": "RS256"},
            "anonymous": {"key": "k1", "kid": "", "expires_in": None},
        },
    }
)


def test_keys_are_a_function_of_seed_kid_and_size() -> None:
    one = rsa_key(7, "k1", 2048)
    rsa_key.cache_clear()
    again = rsa_key(7, "k1", 2048)
    assert one is not again and one.private_numbers() == again.private_numbers()
    assert one.key_size == 2048
    others = [rsa_key(8, "k1", 2048), rsa_key(7, "k2", 2048)]
    moduli = {k.public_key().public_numbers().n for k in [one, *others]}
    assert len(moduli) == 3


def test_the_jwk_is_the_public_half_in_the_idps_shape() -> None:
    key = rsa_key(0, "k1", 2048)
    jwk = public_jwk(key, "k1", "RS256")
    assert set(jwk) == {"kty", "use", "alg", "kid", "n", "e"}
    assert (jwk["kty"], jwk["use"], jwk["alg"], jwk["kid"], jwk["e"]) == (
        "RSA",
        "sig",
        "RS256",
        "k1",
        "AQAB",
    )
    n = int.from_bytes(base64.urlsafe_b64decode(jwk["n"] + "=" * (-len(jwk["n"]) % 4)), "big")
    assert n == key.public_key().public_numbers().n and "=" not in jwk["n"]
    assert "d" not in jwk and "p" not in jwk  # never private material


def with_idp(test: Callable[[IdentityProvider], Awaitable[None]]) -> None:
    """Run ``test`` against a started identity provider (stopped afterwards)."""

    async def main() -> None:
        state = ControlPlaneState(clock=MonotonicClock(), seed=0)
        provider = await start_identity_provider(SPEC, 0, state)
        try:
            await test(provider)
        finally:
            await provider.stop()

    asyncio.run(main())


async def _get(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5) as client:
        return await client.get(url)


def _decode(idp: IdentityProvider, token: str, document: dict[str, Any]) -> dict[str, Any]:
    keys = jwt.PyJWKSet.from_dict(document)
    kid = jwt.get_unverified_header(token)["kid"]
    return dict(
        jwt.decode(
            token,
            keys[kid].key,
            algorithms=["RS256", "RS384"],
            audience="orders-api",
            issuer=idp.issuer,
        )
    )


def test_serves_its_published_keys_and_openid_configuration() -> None:
    with_idp(_test_serves_its_published_keys_and_openid_configuration)


async def _test_serves_its_published_keys_and_openid_configuration(idp: IdentityProvider) -> None:
    assert idp.url.startswith("http://127.0.0.1:") and set(idp.variables()) == set(IDP_VARIABLES)
    document = (await _get(idp.jwks_url)).json()
    assert [k["kid"] for k in document["keys"]] == ["k1"]
    config = (await _get(idp.variables()["openid_configuration_url"])).json()
    assert config["jwks_uri"] == idp.jwks_url and config["issuer"] == idp.url
    assert config["id_token_signing_alg_values_supported"] == ["RS256", "RS384"]
    token = idp.mint("alice", {"sub": "alice", "aud": "orders-api"}, 1_000.0)
    claims = jwt.decode(
        token,
        jwt.PyJWKSet.from_dict(document)["k1"].key,
        algorithms=["RS256"],
        audience="orders-api",
        options={"verify_exp": False},
    )
    assert claims == {"iss": idp.url, "sub": "alice", "aud": "orders-api", "iat": 1000, "exp": 4600}
    journal = idp.state.journal("jwks")
    assert (journal[0].method, journal[0].path, journal[0].status) == ("GET", idp.jwks_url, 200)


def test_rotation_publishes_and_withdraws() -> None:
    with_idp(_test_rotation_publishes_and_withdraws)


async def _test_rotation_publishes_and_withdraws(idp: IdentityProvider) -> None:
    summary = idp.apply(IdentityProviderChange(publish=["k2"], unpublish=["k1"]))
    assert "published now: k2" in summary
    document = (await _get(idp.jwks_url)).json()
    assert [(k["kid"], k["alg"]) for k in document["keys"]] == [("k2", "RS384")]
    with pytest.raises(TokenError, match="no key with kid nope"):
        idp.apply(IdentityProviderChange(publish=["nope"]))


def test_tokens_times_kid_and_errors() -> None:
    provider = IdentityProvider(SPEC, 0, ControlPlaneState(clock=MonotonicClock(), seed=0))
    provider.port = 1234
    late = jwt.decode(provider.mint("late", {}, 10_000.0), options={"verify_signature": False})
    assert (late["exp"], late["nbf"], late["iat"]) == (9_700, 10_600, 10_000)
    forged = provider.mint("forged", {}, 0.0)
    assert jwt.get_unverified_header(forged) == {"alg": "RS256", "kid": "k1", "typ": "JWT"}
    document = {"keys": [public_jwk(rsa_key(0, "k1", 2048), "k1", "RS256")]}
    with pytest.raises(jwt.InvalidSignatureError):
        _decode(provider, forged, document)
    anonymous = provider.mint("anonymous", {}, 0.0)
    assert "kid" not in jwt.get_unverified_header(anonymous)
    assert "exp" not in jwt.decode(anonymous, options={"verify_signature": False})
    with pytest.raises(TokenError, match=r"no token named 'bob' .* known: alice, anonymous"):
        provider.mint("bob", {}, 0.0)
    with pytest.raises(TokenError, match=f"at most {MAX_TOKEN_BYTES}"):
        provider.mint("alice", {"blob": "x" * MAX_TOKEN_BYTES}, 0.0)


def test_jwks_faults_hit_only_the_identity_provider() -> None:
    with_idp(_test_jwks_faults_hit_only_the_identity_provider)


async def _test_jwks_faults_hit_only_the_identity_provider(idp: IdentityProvider) -> None:
    state = idp.state
    everything = state.add_fault(FaultSpec(data="*", status=500))
    assert (await _get(idp.jwks_url)).status_code == 200  # '*' is the platform's data only
    state.clear_faults()
    outage = state.add_fault(FaultSpec(data="jwks", status=503, first_n=1))
    first, second = await _get(idp.jwks_url), await _get(idp.jwks_url)
    assert (first.status_code, second.status_code) == (503, 200)
    assert everything.fired == 0 and outage.fired == 1
    state.add_fault(FaultSpec(data="jwks", malformed=True, first_n=1))
    with pytest.raises(ValueError):
        (await _get(idp.jwks_url)).json()
    state.add_fault(FaultSpec(data="jwks", drop=True, first_n=1))
    with pytest.raises(httpx.HTTPError):
        await _get(idp.jwks_url)
    await asyncio.sleep(0.05)
    faults = [e.fault for e in state.journal("jwks")]
    assert faults[:2] == [None, "jwks-status-503"] and "jwks-malformed" in faults


def test_the_seed_gets_the_identity_providers_urls() -> None:
    with_idp(_test_the_seed_gets_the_identity_providers_urls)


async def _test_the_seed_gets_the_identity_providers_urls(idp: IdentityProvider) -> None:
    def seed(url: str) -> ControlPlaneSpec:
        policy = {"asset_id": "jwt-validation", "configuration": {"jwksUrl": url}}
        return ControlPlaneSpec.model_validate({"apis": [{"key": "orders", "policies": [policy]}]})

    filled = fill_identity_provider(seed("${identity_provider.jwks_url}"), idp)
    assert filled.apis[0].policies[0].configuration == {"jwksUrl": idp.jwks_url}
    plain = seed("https://idp.example.com/keys")
    assert fill_identity_provider(plain, None) is plain
    with pytest.raises(IdentityProviderMissing, match="has no identity_provider"):
        fill_identity_provider(seed("${identity_provider.jwks_url}"), None)
    with pytest.raises(IdentityProviderMissing, match="names nothing; known: url, jwks_url"):
        fill_identity_provider(seed("${identity_provider.keys}"), idp)


def test_a_platform_token_sent_to_it_is_recorded_never_kept() -> None:
    async def body(idp: IdentityProvider) -> None:
        app = idp.state.connected_app
        token = idp.state.records.issue_token(app.client_id, app.client_secret).value
        async with httpx.AsyncClient(timeout=5) as client:
            await client.get(idp.jwks_url, headers={"Authorization": "Bearer someone-elses"})
            assert idp.leaks == []
            await client.get(idp.jwks_url, headers={"Authorization": f"Bearer {token}"})
        assert idp.leaks == ["GET /.well-known/jwks.json"]
        assert all(token not in repr(e) for e in idp.state.journal("jwks"))

    with_idp(body)
