"""The scenario's identity provider (an OpenID provider such as Okta, Auth0 or Azure AD, NOT an
Anypoint endpoint): its RSA signing keys by ``kid`` (generated from the scenario seed, published
in a JWKS document or held back), the tokens steps send (``${jwt.<name>}``), and the step that
publishes or withdraws keys (rotation)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from common.durations import MAX_SECONDS, PATTERN, parse_duration

if TYPE_CHECKING:
    from scenarios.steps import Step

MAX_KEYS = 8
MAX_TOKENS = 32
MAX_CLAIMS_BYTES = 4096
MAX_CLAIMS_DEPTH = 8
KID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
TOKEN_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
Alg = Literal["RS256", "RS384", "RS512"]


def _signed_duration(value: object) -> float:
    """Seconds from ``1h``, ``-5m`` or a number: a time relative to when the token is made."""
    if isinstance(value, str) and value.strip().startswith("-"):
        return -parse_duration(value.strip()[1:])
    if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
        return -parse_duration(-value)
    return parse_duration(value)


RelativeTime = Annotated[
    float,
    BeforeValidator(_signed_duration),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": -MAX_SECONDS, "maximum": MAX_SECONDS},
                {"type": "string", "pattern": PATTERN.replace(r"^\s*", r"^\s*-?")},
            ],
            "description": "Relative to when the token is made: 1h, 30s, or -5m (in the past).",
        }
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class IdpKey(_Strict):
    """One RSA signing key of the identity provider, generated from the scenario seed and the
    ``kid`` (the same seed always gives the same key; no key material is ever written down)."""

    kid: str = Field(pattern=KID_PATTERN, description="The key id, as the JWKS and tokens carry it")
    alg: Alg = "RS256"
    bits: Literal[2048, 3072] = Field(2048, description="RSA modulus size (what IdPs use)")
    published: bool = Field(
        True,
        description="In the JWKS document from the start; false: held back until an "
        "identity_provider step publishes it (a key rotation)",
    )


def _depth(value: Any, level: int = 0) -> int:
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


class TokenSpec(_Strict):
    """A JWT the identity provider signs when a step uses ``${jwt.<name>}`` (made afresh each
    time: ``iat`` now, ``exp``/``nbf`` relative to now; ``${...}`` in claims are filled in)."""

    key: str = Field(pattern=KID_PATTERN, description="The kid of the key that signs it")
    kid: str | None = Field(
        None,
        max_length=64,
        description="The kid written in the header (default: the signing key's); a published "
        "kid here with another signing key makes a forged token; empty: no kid header",
    )
    alg: Alg | None = Field(None, description="The header's alg (default: the key's)")
    claims: dict[str, Any] = Field(
        default_factory=dict,
        description="Claims (sub, aud, client_id, ...); iss defaults to the provider's issuer",
    )
    expires_in: RelativeTime | None = Field(
        3600.0, description="exp relative to now (negative: already expired); null: no exp"
    )
    not_before: RelativeTime | None = Field(
        None, description="nbf relative to now (positive: not yet valid); null: no nbf"
    )

    @model_validator(mode="after")
    def _bounded(self) -> TokenSpec:
        size = len(json.dumps(self.claims, default=str))
        if size > MAX_CLAIMS_BYTES:
            raise ValueError(f"claims take {size} bytes as JSON; at most {MAX_CLAIMS_BYTES}")
        if _depth(self.claims) > MAX_CLAIMS_DEPTH:
            raise ValueError(f"claims nest deeper than {MAX_CLAIMS_DEPTH} levels")
        reserved = {"exp", "nbf", "iat"} & set(self.claims)
        if reserved:
            raise ValueError(
                f"set {', '.join(sorted(reserved))} with expires_in / not_before (relative to"
                " now), not in claims"
            )
        return self


class IdentityProviderSpec(_Strict):
    """An identity provider on loopback serving its published keys as a JWKS document (RFC 7517)
    at ``${identity_provider.jwks_url}`` and its OpenID configuration."""

    issuer: str | None = Field(
        None,
        max_length=512,
        description="The iss of its tokens and OpenID configuration (default: its own URL)",
    )
    keys: list[IdpKey] = Field(min_length=1, max_length=MAX_KEYS)
    tokens: dict[Annotated[str, Field(pattern=TOKEN_NAME_PATTERN)], TokenSpec] = Field(
        default_factory=dict, max_length=MAX_TOKENS
    )

    def key(self, kid: str) -> IdpKey:
        """The key ``kid`` (a loaded scenario names only keys it has: ``identity_problems``)."""
        found = [k for k in self.keys if k.kid == kid]
        if not found:
            raise KeyError(f"no key with kid {kid!r}")
        return found[0]


class IdentityProviderChange(_Strict):
    """Publish held-back keys and/or withdraw published ones from the JWKS document."""

    publish: list[str] = Field(default_factory=list, max_length=MAX_KEYS)
    unpublish: list[str] = Field(default_factory=list, max_length=MAX_KEYS)

    @model_validator(mode="after")
    def _does_something(self) -> IdentityProviderChange:
        if not (self.publish or self.unpublish):
            raise ValueError("say which kids to publish and/or unpublish")
        both = sorted(set(self.publish) & set(self.unpublish))
        if both:
            raise ValueError(f"kid {', '.join(both)} cannot be published and unpublished at once")
        return self

    def describe(self) -> str:
        parts = [f"publish {', '.join(self.publish)}"] if self.publish else []
        parts += [f"unpublish {', '.join(self.unpublish)}"] if self.unpublish else []
        return "identity provider: " + "; ".join(parts)


class IdentityProviderStep(_Strict):
    """Change the identity provider's published keys (``identity_provider: {publish: [k2],
    unpublish: [k1]}``); it serves the new JWKS document from this step on."""

    name: str | None = None
    identity_provider: IdentityProviderChange


def identity_problems(
    spec: IdentityProviderSpec | None, sections: dict[str, list[Step]]
) -> list[tuple[tuple[str | int, ...], str]]:
    """Keys used twice, tokens signed by no key, steps that change an identity provider the
    scenario does not have or name a kid it does not hold (``sections``: ``steps`` and
    ``finally``), each with its place."""
    found: list[tuple[tuple[str | int, ...], str]] = []
    kids = [k.kid for k in spec.keys] if spec is not None else []
    at: tuple[str | int, ...] = ("identity_provider",)
    for i, kid in enumerate(kids):
        if kid in kids[:i]:
            found.append(
                ((*at, "keys", i, "kid"), f"kid {kid!r} is used twice; give each key its own")
            )
    for name, token in spec.tokens.items() if spec is not None else []:
        if token.key not in kids:
            message = f"no key with kid {token.key!r}; keys: {', '.join(kids)}"
            found.append(((*at, "tokens", name, "key"), message))
    for section, steps in sections.items():
        for i, step in enumerate(steps):
            if not isinstance(step, IdentityProviderStep):
                continue
            loc: tuple[str | int, ...] = (section, i, "identity_provider")
            if spec is None:
                found.append((loc, "add a top-level identity_provider with its keys first"))
                continue
            change = step.identity_provider
            for field in ("publish", "unpublish"):
                for j, kid in enumerate(getattr(change, field)):
                    if kid not in kids:
                        found.append(
                            ((*loc, field, j), f"no key with kid {kid!r}; keys: {', '.join(kids)}")
                        )
    return found
