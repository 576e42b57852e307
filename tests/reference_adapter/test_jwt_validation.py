"""jwt-validation: HS/RS keys, text and JWKS, claims, client id against contracts, and the
JWKS registry's timing (TTL, 503 until a set is installed, stale keys kept while refetching)."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from reference_adapter import CheckInput, DecisionEngine

from .helpers import API, contract, policy, req

EPOCH = 1_790_000_000.0
SECRET = "a-very-long-hmac-secret-of-at-least-64-bytes-for-hs512-0123456789abcdef"
JWKS_URL = "http://platform.test/jwks.json"


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(private: Any) -> str:
    return str(
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def jwks_of(private: Any, kid: str = "k1") -> dict[str, Any]:
    jwk = jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    return {"keys": [{**jwk, "kid": kid, "use": "sig", "alg": "RS256"}]}


def jwt_policy(**config: Any) -> dict[str, Any]:
    base = {"jwtOrigin": "httpBearerAuthenticationHeader", "signingMethod": "hmac",
            "signingKeyLength": 256, "jwtKeyOrigin": "text", "textKey": SECRET}  # fmt: skip
    return policy("jwt-validation", {**base, **config}, policy_id=801)


def engine_for(config_policy, contracts=None) -> DecisionEngine:
    engine = DecisionEngine(epoch_offset=EPOCH)
    engine.set_apis([API])
    error = engine.load_policies(API, [config_policy])
    assert error is None, error
    engine.load_contracts(API, contracts if contracts is not None else [contract("app-1")])
    return engine


def token(claims=None, key=SECRET, alg="HS256", headers=None) -> str:
    body = {"client_id": "app-1", "exp": EPOCH + 3600, **(claims or {})}
    return jwt.encode(
        {k: v for k, v in body.items() if v is not None}, key, algorithm=alg, headers=headers
    )


def bearer(t: str):
    return req({"authorization": f"Bearer {t}"})


def outcome(engine: DecisionEngine, request: CheckInput, now: float = 0.0) -> tuple[int, str]:
    d = engine.decide(request, now)
    return d.status, (json.loads(d.body)["error"] if d.body else "")


def test_hs256_valid_token_names_the_client():
    engine = engine_for(jwt_policy())
    d = engine.decide(bearer(token()), 0.0)
    assert d.allowed and d.client_id == "app-1"


@pytest.mark.parametrize("length", [256, 384, 512])
def test_short_hmac_keys_work_without_warnings(length):
    engine = engine_for(jwt_policy(textKey="secret", signingKeyLength=length))
    with pytest.warns(jwt.InsecureKeyLengthWarning):  # only the token's signer sees a short key
        signed = token(key="secret", alg=f"HS{length}")
    assert engine.decide(bearer(signed), 0).allowed


@pytest.mark.parametrize("length", [384, 512])
def test_hs384_hs512(length):
    engine = engine_for(jwt_policy(signingKeyLength=length))
    assert engine.decide(bearer(token(alg=f"HS{length}")), 0).allowed
    assert engine.decide(bearer(token(alg="HS256")), 0).status == 401  # wrong algorithm


def test_missing_token_is_400_and_bad_tokens_401():
    engine = engine_for(jwt_policy())
    assert outcome(engine, req()) == (400, "missing JWT")
    assert outcome(engine, req({"authorization": "Basic abc"}))[0] == 400
    for bad in ("not-a-jwt", token(key="wrong-secret-wrong-secret-wrong-secret-000")):
        status, message = outcome(engine, bearer(bad))
        assert status == 401 and message.startswith("invalid JWT")


def test_exp_and_nbf_use_the_engine_clock():
    engine = engine_for(jwt_policy(mandatoryExpClaim=True))
    t = token({"exp": EPOCH + 10})
    assert engine.decide(bearer(t), 9.0).allowed
    assert outcome(engine, bearer(t), 10.0) == (401, "invalid JWT: token expired")
    assert outcome(engine, bearer(token({"exp": None})))[1] == "invalid JWT: exp claim is required"
    nbf = token({"nbf": EPOCH + 5})
    assert outcome(engine, bearer(nbf), 4.0)[1] == "invalid JWT: token not yet valid"
    assert engine.decide(bearer(nbf), 5.0).allowed
    strict_nbf = engine_for(jwt_policy(mandatoryNbfClaim=True))
    assert strict_nbf.decide(bearer(token()), 0).status == 401


def test_audience():
    engine = engine_for(jwt_policy(validateAudClaim=True, supportedAudiences="orders, billing"))
    assert engine.decide(bearer(token({"aud": "orders"})), 0).allowed
    assert engine.decide(bearer(token({"aud": ["x", "billing"]})), 0).allowed
    assert (
        outcome(engine, bearer(token({"aud": "other"})))[1] == "invalid JWT: audience not accepted"
    )
    assert engine.decide(bearer(token()), 0).allowed  # aud optional unless mandatory
    mandatory = engine_for(
        jwt_policy(validateAudClaim=True, mandatoryAudClaim=True, supportedAudiences="orders")
    )
    assert mandatory.decide(bearer(token()), 0).status == 401


def test_custom_claims():
    engine = engine_for(jwt_policy(
        validateCustomClaim=True,
        mandatoryCustomClaims=[{"key": "role", "value": "admin"}],
        nonMandatoryCustomClaims=[{"key": "tier", "value": "gold"}],
    ))  # fmt: skip
    assert engine.decide(bearer(token({"role": "admin"})), 0).allowed
    assert engine.decide(bearer(token({"role": ["user", "admin"], "tier": "gold"})), 0).allowed
    assert engine.decide(bearer(token({"role": "user"})), 0).status == 401
    assert engine.decide(bearer(token({})), 0).status == 401
    assert engine.decide(bearer(token({"role": "admin", "tier": "silver"})), 0).status == 401


def test_client_id_claim_checked_against_approved_contracts_unless_skipped():
    engine = engine_for(
        jwt_policy(), [contract("app-1"), contract("app-2", contract_id=2, status="REVOKED")]
    )
    assert outcome(engine, bearer(token({"client_id": "app-2"})))[1] == (
        "invalid JWT: client id has no approved contract"
    )
    assert engine.decide(bearer(token({"client_id": None})), 0).status == 401
    custom = engine_for(jwt_policy(clientIdExpression="#[vars.claimSet.azp]"))
    assert custom.decide(bearer(token({"azp": "app-1", "client_id": None})), 0).allowed
    skip = DecisionEngine(epoch_offset=EPOCH)
    skip.load_policies(API, [jwt_policy(skipClientIdValidation=True)])
    assert skip.ready(API)  # no contracts needed
    assert skip.decide(bearer(token({"client_id": "whoever"})), 0).allowed


def test_custom_header_origin():
    engine = engine_for(
        jwt_policy(
            jwtOrigin="customExpression", jwtExpression="#[attributes.headers['myJwtHeader']]"
        )
    )
    assert engine.decide(req({"myjwtheader": token()}), 0).allowed
    assert engine.decide(bearer(token()), 0).status == 400


def test_rsa_text_key(rsa_key):
    engine = engine_for(jwt_policy(signingMethod="rsa", textKey=public_pem(rsa_key)))
    assert engine.decide(bearer(token(key=rsa_key, alg="RS256")), 0).allowed
    assert engine.decide(bearer(token()), 0).status == 401  # an HS token is refused
    rs512 = engine_for(
        jwt_policy(signingMethod="rsa", signingKeyLength=512, textKey=public_pem(rsa_key))
    )
    assert rs512.decide(bearer(token(key=rsa_key, alg="RS512")), 0).allowed


def test_rsa_text_key_without_pem_header_and_footer(rsa_key):
    # MuleSoft's JWT Validation page: "the PEM Public Key without the header and footer for RSA"
    pem = public_pem(rsa_key)
    body = "\n".join(line for line in pem.splitlines() if not line.startswith("-----"))
    for text_key in (body, body.replace("\n", ""), "  " + body + "\n"):
        engine = engine_for(jwt_policy(signingMethod="rsa", textKey=text_key))
        assert engine.decide(bearer(token(key=rsa_key, alg="RS256")), 0).allowed
        assert engine.decide(bearer(token()), 0).status == 401


@pytest.mark.parametrize(("length", "curve"), [(256, ec.SECP256R1()), (384, ec.SECP384R1()),
                                             (512, ec.SECP521R1())])  # fmt: skip
def test_es_text_key(rsa_key, length, curve):
    """signingMethod es (MuleSoft's page lists RSA, HMAC, ES and None): ES256/384/512 on
    P-256/384/521 (RFC 7518 §3.4); a token of another key or algorithm is a 401, never a 500."""
    private = ec.generate_private_key(curve)
    engine = engine_for(
        jwt_policy(signingMethod="es", signingKeyLength=length, textKey=public_pem(private))
    )
    assert engine.decide(bearer(token(key=private, alg=f"ES{length}")), 0).allowed
    other = ec.generate_private_key(curve)
    assert outcome(engine, bearer(token(key=other, alg=f"ES{length}")))[0] == 401
    assert outcome(engine, bearer(token(key=rsa_key, alg="RS256")))[0] == 401
    assert outcome(engine, bearer(token()))[0] == 401  # HS256 with a secret


def test_a_text_key_of_the_wrong_kind_is_a_configuration_error(rsa_key):
    p256 = public_pem(ec.generate_private_key(ec.SECP256R1()))
    for config, fragment in (
        ({"signingMethod": "es", "textKey": public_pem(rsa_key)}, "elliptic-curve"),
        ({"signingMethod": "rsa", "textKey": p256}, "RSA public key"),
        ({"signingMethod": "es", "signingKeyLength": 384, "textKey": p256}, "secp384r1"),
    ):
        error = DecisionEngine().load_policies(API, [jwt_policy(**config)])
        assert error is not None and fragment in error, (config, error)


def test_unsigned_tokens_with_signing_method_none():
    engine = engine_for(jwt_policy(signingMethod="none"))
    unsigned = jwt.encode({"client_id": "app-1"}, "", algorithm="none")
    assert engine.decide(bearer(unsigned), 0).allowed


def test_jwks_503_until_fetched_then_kid_lookup_and_stale_keys_kept(rsa_key):
    engine = engine_for(
        jwt_policy(
            signingMethod="rsa", jwtKeyOrigin="jwks", jwksUrl=JWKS_URL, jwksServiceTimeToLive=1
        )
    )
    signed = token(key=rsa_key, alg="RS256", headers={"kid": "k1"})
    assert outcome(engine, bearer(signed)) == (503, "JWKS unavailable: cannot validate tokens yet")
    (source,) = engine.jwks.due(0.0)
    assert source.url == JWKS_URL and source.ttl_s == 60.0
    engine.jwks.failed(JWKS_URL, 0.0, "connection refused")
    assert engine.jwks.due(0.0) == [] and engine.jwks.due(1.0)  # retried with backoff
    engine.jwks.install(JWKS_URL, jwks_of(rsa_key), 1.0)
    assert engine.decide(bearer(signed), 1.0).allowed
    other = token(key=rsa_key, alg="RS256", headers={"kid": "k2"})
    assert outcome(engine, bearer(other))[1] == "invalid JWT: no JWKS key with kid 'k2'"
    assert engine.jwks.due(60.9) == [] and len(engine.jwks.due(61.0)) == 1
    engine.jwks.failed(JWKS_URL, 61.0)
    assert engine.decide(bearer(signed), 62.0).allowed  # expired set still used while retrying
    with pytest.raises(ValueError, match="no usable key"):
        engine.jwks.install(JWKS_URL, {"keys": [{"kty": "bogus"}]}, 63.0)


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"signingMethod": "ecdsa"}, "signingMethod"),
        ({"signingKeyLength": 128}, "signingKeyLength"),
        ({"textKey": None}, "textKey is required"),
        ({"signingMethod": "rsa", "textKey": "not a pem"}, "PEM public key"),
        ({"jwtKeyOrigin": "jwks"}, "jwksUrl is required"),
        ({"jwtKeyOrigin": "jwks", "jwksUrl": "ftp://x"}, "jwksUrl"),
        ({"validateAudClaim": True}, "supportedAudiences"),
        (
            {"validateCustomClaim": True, "mandatoryCustomClaims": [{"key": "a", "value": "#[x]"}]},
            "DataWeave",
        ),
        ({"clientIdExpression": "#[payload.x]"}, "clientIdExpression"),
    ],
)
def test_bad_configuration(config, fragment):
    engine = DecisionEngine()
    error = engine.load_policies(API, [jwt_policy(**config)])
    assert error is not None and fragment in error
