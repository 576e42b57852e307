"""jwt-validation: the token from ``Authorization: Bearer`` or a custom header, signed HS, RS or
ES (256/384/512) with a text key or JWKS keys (`JwksRegistry`), or unsigned (``none``); exp,
nbf, aud and custom claims; the client id claim must name an APPROVED contract unless
``skipClientIdValidation``. 400 missing token, 401 invalid, 503 while no JWKS is available."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import jwt
import jwt.types
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from reference_adapter.contracts import Contract
from reference_adapter.model import CheckInput, Decision, Denial
from reference_adapter.policies.base import ConfigReader, PolicyContext, header_from_expression

BEARER = "httpBearerAuthenticationHeader"
CUSTOM = "customExpression"
_CLAIM_EXPRESSION = re.compile(
    r"""^#\[\s*vars\.claimSet(?:\.([A-Za-z0-9_\-]+)|\[\s*['"]([^'"]+)['"]\s*\])\s*\]$"""
)


def _claim_from_expression(reader: ConfigReader, key: str, expression: str) -> str:
    match = _CLAIM_EXPRESSION.match(expression.strip())
    if match:
        return match.group(1) or match.group(2)
    if re.fullmatch(r"[A-Za-z0-9_\-]+", expression):
        return expression
    raise reader.error(key, expression, "#[vars.claimSet.<claim>] or a bare claim name")


def _claims(reader: ConfigReader, key: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for entry in reader.list_of(key, []):
        if not isinstance(entry, Mapping) or not entry.get("key"):
            raise reader.error(key, entry, "a list of {key, value}")
        value = entry.get("value")
        if isinstance(value, str) and value.strip().startswith("#["):
            raise reader.error(
                key, entry, "a literal value (ASM does not accept DataWeave in claim validations)"
            )
        pairs.append((str(entry["key"]), "" if value is None else str(value)))
    return tuple(pairs)


@dataclass(frozen=True, slots=True)
class JwtConfig:
    token_header: str | None  # None: Authorization: Bearer
    algorithm: str  # "none" for unsigned
    key: Any
    jwks_url: str | None
    jwks_ttl_s: float
    jwks_timeout_s: float
    skip_client_id: bool
    client_id_claim: str
    validate_aud: bool
    mandatory_aud: bool
    audiences: frozenset[str]
    mandatory_exp: bool
    mandatory_nbf: bool
    mandatory_claims: tuple[tuple[str, str], ...]
    optional_claims: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, configuration: Mapping[str, Any] | None) -> JwtConfig:
        reader = ConfigReader(JwtValidation.asset_id, configuration)
        origin = reader.choice("jwtOrigin", (BEARER, CUSTOM), BEARER)
        token_header = None
        if origin == CUSTOM:
            expr = reader.string("jwtExpression", "#[attributes.headers['jwt']]")
            token_header = header_from_expression(reader, "jwtExpression", expr)
        method = reader.choice("signingMethod", ("rsa", "hmac", "es", "none"), "hmac")
        length = reader.integer("signingKeyLength", 256)
        if length not in (256, 384, 512):
            raise reader.error("signingKeyLength", length, "256, 384 or 512")
        prefix = {"rsa": "RS", "hmac": "HS", "es": "ES"}
        algorithm = "none" if method == "none" else f"{prefix[method]}{length}"
        key: Any = None
        jwks_url = None
        if method != "none":
            origin_key = reader.choice("jwtKeyOrigin", ("text", "jwks"), "text")
            if origin_key == "jwks":
                jwks_url = reader.string("jwksUrl")
                if not jwks_url.startswith(("http://", "https://")):
                    raise reader.error("jwksUrl", jwks_url, "an http(s):// URL")
            else:
                text = reader.string("textKey")
                key = _load_key(reader, method, text, length)
        audiences = reader.data.get("supportedAudiences") or ""
        if isinstance(audiences, str):
            audience_set = frozenset(a.strip() for a in audiences.split(",") if a.strip())
        elif isinstance(audiences, list):
            audience_set = frozenset(str(a) for a in audiences)
        else:
            raise reader.error("supportedAudiences", audiences, "a comma-separated string")
        validate_aud = reader.boolean("validateAudClaim", False)
        if validate_aud and not audience_set:
            raise reader.error("supportedAudiences", audiences, "at least one audience")
        validate_custom = reader.boolean("validateCustomClaim", False)
        return cls(
            token_header=token_header,
            algorithm=algorithm,
            key=key,
            jwks_url=jwks_url,
            jwks_ttl_s=60.0 * reader.integer("jwksServiceTimeToLive", 60, minimum=1),
            jwks_timeout_s=reader.integer("jwksServiceConnectionTimeout", 10_000, minimum=1)
            / 1000.0,
            skip_client_id=reader.boolean("skipClientIdValidation", False),
            client_id_claim=_claim_from_expression(
                reader,
                "clientIdExpression",
                reader.string("clientIdExpression", "#[vars.claimSet.client_id]"),
            ),
            validate_aud=validate_aud,
            mandatory_aud=validate_aud and reader.boolean("mandatoryAudClaim", False),
            audiences=audience_set,
            mandatory_exp=reader.boolean("mandatoryExpClaim", False),
            mandatory_nbf=reader.boolean("mandatoryNbfClaim", False),
            mandatory_claims=_claims(reader, "mandatoryCustomClaims") if validate_custom else (),
            optional_claims=_claims(reader, "nonMandatoryCustomClaims") if validate_custom else (),
        )


def _load_key(reader: ConfigReader, method: str, text: str, length: int) -> Any:
    if method == "hmac":
        # HMAC zero-pads keys shorter than the hash block (64/128 bytes), so padding a short
        # key to pyjwt's recommended minimum gives the same MAC without its per-call warning.
        return text.encode().ljust(length // 8, b"\0")
    try:
        key = serialization.load_pem_public_key(_pem_armoured(text).encode())
    except (ValueError, TypeError):
        raise reader.error(
            "textKey",
            text[:40] + "...",
            "a PEM public key, its base64 body alone (as MuleSoft asks: without the "
            "-----BEGIN PUBLIC KEY----- header and footer) or the whole PEM",
        ) from None
    wanted = _KEY_TYPES[method]
    if not isinstance(key, wanted[0]):
        raise reader.error("textKey", text[:40] + "...", f"{wanted[1]} for signingMethod {method}")
    if method == "es":
        curve = _CURVES[length]
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != curve:
            raise reader.error(
                "textKey", text[:40] + "...", f"a key on {curve} for ES{length} (RFC 7518 §3.4)"
            )
    return key


_KEY_TYPES: dict[str, tuple[type, str]] = {
    "rsa": (rsa.RSAPublicKey, "an RSA public key"),
    "es": (ec.EllipticCurvePublicKey, "an elliptic-curve public key"),
}
_CURVES = {256: "secp256r1", 384: "secp384r1", 512: "secp521r1"}
"""ES256, ES384 and ES512 sign on P-256, P-384 and P-521 (RFC 7518 §3.4)."""


def _pem_armoured(text: str) -> str:
    """The key as a PEM document. MuleSoft's JWT Validation page asks for "the PEM Public Key
    without the header and footer for RSA", so a bare base64 body gets them back; a whole PEM
    (header included) is accepted as it is."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        return text
    body = "".join(text.split())
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "\n".join(["-----BEGIN PUBLIC KEY-----", *lines, "-----END PUBLIC KEY-----"])


def _claim_matches(actual: object, expected: str) -> bool:
    if isinstance(actual, list):
        return any(_claim_matches(item, expected) for item in actual)
    if isinstance(actual, bool):
        return str(actual).lower() == expected.lower()
    return str(actual) == expected


class JwtValidation:
    """The policy object; see the module docstring."""

    asset_id: ClassVar[str] = "jwt-validation"
    is_async: bool = False

    def __init__(self, config: JwtConfig, context: PolicyContext) -> None:
        self.config = config
        self.uses_contracts = not config.skip_client_id
        self._time = context.time_base
        self._source = (
            context.jwks.register(config.jwks_url, config.jwks_ttl_s, config.jwks_timeout_s)
            if config.jwks_url
            else None
        )
        self._options: jwt.types.Options = {
            "verify_signature": config.algorithm != "none",
            "verify_exp": False,
            "verify_nbf": False,
            "verify_iat": False,
            "verify_aud": False,
            "verify_iss": False,
        }
        self._missing = Denial.of(400, "missing JWT")
        self._unavailable = Denial.of(503, "JWKS unavailable: cannot validate tokens yet")

    @classmethod
    def from_configuration(
        cls, configuration: Mapping[str, Any] | None, context: PolicyContext | None = None
    ) -> JwtValidation:
        return cls(JwtConfig.parse(configuration), context or PolicyContext())

    def _token(self, headers: Mapping[str, str]) -> str | None:
        if self.config.token_header is not None:
            return headers.get(self.config.token_header) or None
        value = headers.get("authorization", "")
        scheme, _, token = value.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return token.strip()

    def check(
        self,
        request: CheckInput,
        now: float,
        decision: Decision,
        contracts: Mapping[str, Contract],
    ) -> Denial | None:
        token = self._token(request.headers)
        if token is None:
            return self._missing
        config = self.config
        key = config.key
        try:
            if self._source is not None:
                keys = self._source.keys
                if keys is None:
                    return self._unavailable
                kid = jwt.get_unverified_header(token).get("kid")
                key = keys.get(kid)
                if key is None and kid is None and len(keys) == 1:
                    key = next(iter(keys.values()))
                if key is None:
                    return Denial.of(401, f"invalid JWT: no JWKS key with kid {kid!r}")
            claims = jwt.decode(
                token,
                key,
                algorithms=[config.algorithm] if config.algorithm != "none" else None,
                options=self._options,
            )
        except jwt.PyJWTError as exc:  # a key of the wrong kind for the token too
            return Denial.of(401, f"invalid JWT: {exc}")
        problem = self._check_claims(claims, now + self._time.epoch_offset)
        if problem is not None:
            return Denial.of(401, f"invalid JWT: {problem}")
        if not config.skip_client_id:
            client_id = claims.get(config.client_id_claim)
            if not isinstance(client_id, str) or client_id not in contracts:
                return Denial.of(401, "invalid JWT: client id has no approved contract")
            decision.client_id = client_id
            decision.client_name = contracts[client_id].client_name
        return None

    def _check_claims(self, claims: Mapping[str, Any], wall: float) -> str | None:
        config = self.config
        for name, mandatory in (("exp", config.mandatory_exp), ("nbf", config.mandatory_nbf)):
            value = claims.get(name)
            if value is None:
                if mandatory:
                    return f"{name} claim is required"
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                return f"{name} claim must be a number"
            if name == "exp" and wall >= value:
                return "token expired"
            if name == "nbf" and wall < value:
                return "token not yet valid"
        if config.validate_aud:
            aud = claims.get("aud")
            if aud is None:
                if config.mandatory_aud:
                    return "aud claim is required"
            else:
                values = aud if isinstance(aud, list) else [aud]
                if not any(str(v) in config.audiences for v in values):
                    return "audience not accepted"
        for name, expected in config.mandatory_claims:
            if name not in claims:
                return f"claim {name} is required"
            if not _claim_matches(claims[name], expected):
                return f"claim {name} does not match"
        for name, expected in config.optional_claims:
            if name in claims and not _claim_matches(claims[name], expected):
                return f"claim {name} does not match"
        return None
