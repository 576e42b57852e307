"""The scenario's identity provider in a run: ``${jwt.<name>}`` tokens made when a step uses
them (claims' variables filled in, times relative to the wall clock, as JWTs carry it), the
``identity_provider`` step that publishes or withdraws keys, and the check that the adapter never
sent its Anypoint access token there."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from conformance.results import ScenarioResult, StepFailed, StepFailure
from conformance.variables import VariableError, Variables
from live.identity_provider import IdentityProvider, TokenError
from scenarios.identity import IdentityProviderStep

if TYPE_CHECKING:
    from conformance.runner import ScenarioRun


def token_maker(
    idp: IdentityProvider, variables: Variables, now: Callable[[], float] = time.time
) -> Callable[[str], str]:
    """What ``${jwt.<name>}`` resolves with: the named token, signed now (a token whose
    claims name a token being made is refused, not recursed into)."""
    making: set[str] = set()

    def make(name: str) -> str:
        if name in making:
            raise VariableError(f"${{jwt.{name}}}: its claims name a token being made")
        spec = idp.spec.tokens.get(name)
        if spec is None:
            known = ", ".join(sorted(idp.spec.tokens)) or "none"
            raise VariableError(
                f"unknown variable ${{jwt.{name}}}: no token {name!r} under"
                f" identity_provider.tokens; known: {known}"
            )
        making.add(name)
        try:
            claims = variables.substitute(dict(spec.claims))
            return idp.mint(name, claims, now())
        except TokenError as exc:
            raise VariableError(f"${{jwt.{name}}}: {exc}") from None
        finally:
            making.discard(name)

    return make


def run_identity_provider(run: ScenarioRun, step: IdentityProviderStep) -> None:
    """Publish or withdraw keys; the JWKS endpoint serves the new set from now on."""
    idp = run.stack.identity_provider
    if idp is None:
        raise StepFailed("this step changes the identity provider, but the scenario has none")
    try:
        summary = idp.apply(step.identity_provider)
    except TokenError as exc:
        raise StepFailed(str(exc)) from None
    run.note("identity_provider", summary, published=list(idp.published))


def check_platform_token_kept(run: ScenarioRun, result: ScenarioResult) -> None:
    """Fail a case whose adapter sent its Anypoint access token to the identity provider (a
    JWKS endpoint is public, and a third-party host must never receive the platform token)."""
    idp = run.stack.identity_provider
    if idp is None or not idp.leaks or result.failure is not None:
        return
    steps = len(run.source.scenario.steps)
    result.failure = StepFailure(
        steps,
        "the platform token stays with the platform",
        str(run.source.path),
        f"the adapter sent its Anypoint access token to the identity provider"
        f" ({', '.join(idp.leaks[:3])}): JWKS endpoints are public, and a credential of the"
        " platform must never reach another host",
    )
