"""A scenario's identity provider on loopback (what Okta, Auth0 or Azure AD are to a real
jwt-validation policy; NOT an Anypoint endpoint): serves its published keys as a JWKS document
and its OpenID configuration on its own port, signs the tokens steps send, publishes and withdraws
keys during a run, and takes the scenario's faults on ``jwks`` (journaled with the control
plane's requests so the trace shows when the adapter fetched keys)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from fake_anypoint import ControlPlaneSpec, ControlPlaneState, DataKind, JournalEntry
from fake_anypoint.faults import pick_fault
from fake_anypoint.httpkit import other_success
from live.idp_keys import public_jwk, rsa_key, sign
from live.seed_references import fill_seed
from scenarios.identity import IdentityProviderChange, IdentityProviderSpec

LOG = logging.getLogger("asmkit.identity_provider")
JWKS_PATH = "/.well-known/jwks.json"
DISCOVERY_PATH = "/.well-known/openid-configuration"
IDP_VARIABLES = ("url", "jwks_url", "issuer", "openid_configuration_url")
"""What ``${identity_provider.<name>}`` names."""
MAX_TOKEN_BYTES = 16 * 1024
"""Bound on a minted token (claims are bounded too): real IdPs' tokens stay far below."""
_SERVED = frozenset({DataKind.JWKS})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class TokenError(ValueError):
    """A token cannot be made as the scenario asks (unknown name, too large)."""


class IdentityProvider:
    """One identity provider for one run; ``start`` binds 127.0.0.1 on a free port."""

    def __init__(self, spec: IdentityProviderSpec, seed: int, state: ControlPlaneState) -> None:
        self.spec = spec
        self.seed = seed
        self.state = state
        self.published: list[str] = [k.kid for k in spec.keys if k.published]
        self.fetches = 0
        self.leaks: list[str] = []
        """Requests that carried an access token the control plane issued (never the token)."""
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def jwks_url(self) -> str:
        return self.url + JWKS_PATH

    @property
    def issuer(self) -> str:
        return self.spec.issuer or self.url

    def variables(self) -> dict[str, str]:
        """``${identity_provider.*}`` (the names in ``IDP_VARIABLES``)."""
        values = (self.url, self.jwks_url, self.issuer, self.url + DISCOVERY_PATH)
        return dict(zip(IDP_VARIABLES, values, strict=True))

    def document(self) -> dict[str, Any]:
        """The JWKS document as served now: the published keys, in publication order."""
        keys = []
        for kid in self.published:
            key = self.spec.key(kid)
            keys.append(public_jwk(rsa_key(self.seed, kid, key.bits), kid, key.alg))
        return {"keys": keys}

    def prepare(self) -> None:
        """Generate every key now (a few hundred ms each), not in the middle of a step."""
        for key in self.spec.keys:
            rsa_key(self.seed, key.kid, key.bits)

    def apply(self, change: IdentityProviderChange) -> str:
        """Publish and withdraw keys; the next JWKS request sees the new set."""
        known = {k.kid for k in self.spec.keys}
        unknown = sorted((set(change.publish) | set(change.unpublish)) - known)
        if unknown:
            raise TokenError(f"no key with kid {', '.join(unknown)}; keys: {', '.join(known)}")
        self.published = [k for k in self.published if k not in change.unpublish]
        self.published += [k for k in change.publish if k not in self.published]
        return f"{change.describe()} (published now: {', '.join(self.published) or 'none'})"

    def mint(self, name: str, claims: dict[str, Any], now: float) -> str:
        """The token ``name``, made at wall time ``now`` with ``claims`` (variables filled in)."""
        spec = self.spec.tokens.get(name)
        if spec is None:
            known = ", ".join(sorted(self.spec.tokens)) or "none"
            raise TokenError(
                f"no token named {name!r} under identity_provider.tokens; known: {known}"
            )
        key = self.spec.key(spec.key)
        payload: dict[str, Any] = {"iss": self.issuer, **claims, "iat": int(now)}
        if spec.expires_in is not None:
            payload["exp"] = int(now + spec.expires_in)
        if spec.not_before is not None:
            payload["nbf"] = int(now + spec.not_before)
        kid = spec.kid if spec.kid is not None else key.kid
        token = sign(
            rsa_key(self.seed, key.kid, key.bits), payload, alg=spec.alg or key.alg, kid=kid
        )
        if len(token) > MAX_TOKEN_BYTES:
            raise TokenError(f"token {name!r} is {len(token)} bytes; at most {MAX_TOKEN_BYTES}")
        return token

    async def start(self) -> None:
        app = web.Application(middlewares=[self._faults_and_journal])
        app.router.add_get(JWKS_PATH, self._jwks)
        app.router.add_get(DISCOVERY_PATH, self._discovery)
        # a request held by a latency fault must not hold up the end of the run
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _jwks(self, request: web.Request) -> web.Response:
        self.fetches += 1
        return _json(self.document())

    async def _discovery(self, request: web.Request) -> web.Response:
        algs = sorted({k.alg for k in self.spec.keys})
        return _json(
            {
                "issuer": self.issuer,
                "jwks_uri": self.jwks_url,
                "id_token_signing_alg_values_supported": algs,
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
            }
        )

    @web.middleware
    async def _faults_and_journal(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        """The scenario's ``jwks`` faults (the fake control plane's effects: delay, lost answer,
        drop, status, malformed), then the answer; every request journaled."""
        state = self.state
        started, status, fault_name = state.clock.now(), 0, None
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and value.strip() in state.records.tokens:
            self.leaks.append(f"{request.method} {request.path}")
        try:
            faults = [f for f in state.faults() if DataKind.JWKS in f.spec.data]
            action = pick_fault(faults, _SERVED, started, state.records.fault_rng)
            if action is not None:
                fault_name = action.name
                if action.delay_s > 0:
                    await asyncio.sleep(action.delay_s)
                if action.lose_response:
                    await handler(request)
                if action.drop:
                    if request.transport is not None:
                        request.transport.abort()
                    raise asyncio.CancelledError()
                if action.status is not None and action.status < 300:
                    response = other_success(await handler(request), action.status)
                    status = response.status
                    return response
                if action.status is not None:
                    status = action.status
                    return _json({"error": f"injected fault {action.name}"}, status)
                if action.malformed:
                    status = 200
                    return web.Response(body=b'{"keys": [{"kty', content_type="application/json")
            response = await handler(request)
            status = response.status
            return response
        finally:
            state.records.record(
                JournalEntry(
                    request.method,
                    self.url + request.path,
                    status,
                    started,
                    state.clock.now() - started,
                    fault_name,
                    (DataKind.JWKS.value,),
                    request.query_string,
                )
            )


def _json(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(body).encode(),
        content_type="application/json",
    )


async def start_identity_provider(
    spec: IdentityProviderSpec, seed: int, state: ControlPlaneState
) -> IdentityProvider:
    """Generate the keys and start serving (stopped again if starting fails)."""
    idp = IdentityProvider(spec, seed, state)
    await asyncio.to_thread(idp.prepare)
    try:
        await idp.start()
    except BaseException:
        with contextlib.suppress(Exception):
            await idp.stop()
        raise
    LOG.info("identity provider at %s (keys %s)", idp.url, ", ".join(idp.published))
    return idp


class IdentityProviderMissing(ValueError):
    """The control-plane seed names ``${identity_provider.*}`` the run cannot fill."""


def fill_identity_provider(
    spec: ControlPlaneSpec, idp: IdentityProvider | None
) -> ControlPlaneSpec:
    """``spec`` with every ``${identity_provider.<name>}`` filled in (the seed is made before
    any other variable exists, so these are the only ones it may hold)."""
    values = idp.variables() if idp is not None else None
    return fill_seed(
        spec, "identity_provider", values, IdentityProviderMissing, "identity_provider"
    )
