"""Whether an adapter profile runs a scenario, and why not: the one rule that the pytest items,
the mutation harness and the test that every library scenario runs somewhere in CI share."""

from __future__ import annotations

from conformance.results import Outcome
from live.profile import AdapterProfile
from scenarios.model import Scenario


def claimed_features(profile: AdapterProfile) -> set[str]:
    """The features the profile claims, minus those it exempts from this run."""
    features = profile.features
    return {str(f) for f in features.supported} - {str(f) for f in features.exempt}


def not_run(
    scenario: Scenario, profile: AdapterProfile, *, chosen: bool = False
) -> tuple[Outcome, str] | None:
    """Why ``profile`` does not run ``scenario`` (its outcome and the reason), or None when it
    does. ``chosen``: asked for by name, so unclaimed features and provisional do not stop it."""
    transport = profile.ext_authz.transport
    if transport not in scenario.transports:
        return (
            Outcome.NOT_SUPPORTED,
            f"the scenario applies to {'/'.join(scenario.transports)} ext_authz,"
            f" the adapter uses {transport}",
        )
    address = scenario.needs_client_address and not profile.ext_authz.use_remote_address
    if transport == "http" and address:
        return (
            Outcome.NOT_SUPPORTED,
            "the case needs the client address, which HTTP service mode carries only when Envoy"
            " sets use_remote_address: set ext_authz.use_remote_address: true in the profile"
            " (and list x-envoy-external-address in allowed_headers)",
        )
    if scenario.ports_taken and profile.control_plane.via == "proxy":
        return (
            Outcome.NOT_SUPPORTED,
            "the case holds one of the adapter's ports before starting it, which the kit cannot"
            " do inside the network namespace of an adapter run behind the proxy",
        )
    missing = sorted(set(scenario.features) - claimed_features(profile))
    if missing and not chosen:
        return Outcome.NOT_SUPPORTED, f"adapter does not claim {', '.join(missing)}"
    waived = sorted(set(scenario.conventions) & set(profile.waive))
    if waived:
        reasons = (f"relies on the kit convention {c}, waived: {profile.waive[c]}" for c in waived)
        return Outcome.NOT_SUPPORTED, "; ".join(reasons)
    unmet = profile.unmet_needs(scenario.adapter.given())
    if unmet:
        return Outcome.NOT_SUPPORTED, "; ".join(unmet)
    if scenario.provisional and not chosen:
        return Outcome.PROVISIONAL, "provisional scenario"
    return None
