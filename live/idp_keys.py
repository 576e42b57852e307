"""The identity provider's key material: RSA keys generated deterministically from the scenario
seed and a ``kid`` (a seeded prime search, so a case is reproducible and no private key is ever
written down), their public JWK form (RFC 7517/7518) and JWT signing (RFC 7519)."""

from __future__ import annotations

import base64
import functools
import math
import random
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

PUBLIC_EXPONENT = 65537
MAX_PRIME_CANDIDATES = 200_000
"""Bound on the prime search (a 1536-bit prime needs about 500 odd candidates on average)."""
_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % d for d in range(2, math.isqrt(p) + 1))]
MR_ROUNDS = 40


class KeyGenerationError(RuntimeError):
    """The bounded prime search found no prime (never expected; says which key)."""


def _probably_prime(n: int, rng: random.Random) -> bool:
    """Trial division by small primes, then Miller-Rabin with ``MR_ROUNDS`` seeded bases."""
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return n in _SMALL_PRIMES
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(MR_ROUNDS):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(rng: random.Random, bits: int, label: str) -> int:
    """A prime of exactly ``bits`` bits with its two top bits set (so p*q has 2*bits bits) and
    p-1 coprime to the public exponent."""
    for _ in range(MAX_PRIME_CANDIDATES):
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if (candidate - 1) % PUBLIC_EXPONENT == 0:
            continue
        if _probably_prime(candidate, rng):
            return candidate
    raise KeyGenerationError(f"no {bits}-bit prime for {label} in {MAX_PRIME_CANDIDATES} tries")


@functools.lru_cache(maxsize=64)
def rsa_key(seed: int, kid: str, bits: int) -> rsa.RSAPrivateKey:
    """The RSA key for ``kid`` under ``seed``: always the same key for the same three values."""
    label = f"asmkit identity provider key {kid!r}, seed {seed}, {bits} bits"
    rng = random.Random(label)  # a seeded instance: deterministic by design, never module-level
    p = _prime(rng, bits // 2, label)
    q = _prime(rng, bits // 2, label)
    while q == p:
        q = _prime(rng, bits // 2, label)
    n = p * q
    d = pow(PUBLIC_EXPONENT, -1, math.lcm(p - 1, q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p,
        q,
        d,
        rsa.rsa_crt_dmp1(d, p),
        rsa.rsa_crt_dmq1(d, q),
        rsa.rsa_crt_iqmp(p, q),
        rsa.RSAPublicNumbers(PUBLIC_EXPONENT, n),
    )
    return numbers.private_key()


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def public_jwk(key: rsa.RSAPrivateKey, kid: str, alg: str) -> dict[str, Any]:
    """The public half as a JWKS entry, in the shape Okta, Auth0 and Azure AD publish."""
    numbers = key.public_key().public_numbers()
    return {
        "kty": "RSA",
        "use": "sig",
        "alg": alg,
        "kid": kid,
        "n": _b64(numbers.n),
        "e": _b64(numbers.e),
    }


def sign(key: rsa.RSAPrivateKey, claims: dict[str, Any], *, alg: str, kid: str | None) -> str:
    """A compact JWS: header ``{alg, typ: JWT[, kid]}``, ``claims`` as the payload."""
    headers: dict[str, Any] = {"typ": "JWT"}
    if kid:
        headers["kid"] = kid
    return jwt.encode(claims, key, algorithm=alg, headers=headers)
