"""No library scenario is only ever skipped: each one that is not provisional is run, against
the reference adapter, by one of the profiles CI runs the library with. A scenario whose
features no bundled profile claims would otherwise be ``not_supported`` (a pytest skip) in every
CI run and never checked."""

from __future__ import annotations

from conformance.selection import not_run
from live.profile import BUNDLED_PROFILE, load_profile
from scenarios import LIBRARY, SUFFIX, load_scenario
from tests.test_layering import ROOT

PROXIED = "conformance/profiles/reference-adapter-proxied.yaml"
"""The second library run in `.ci/run` (the main job runs the bundled profile)."""


def test_ci_runs_the_library_with_these_profiles() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "python3 dev.py conformance  #" in ci  # the main job: the bundled profile
    assert f"python3 dev.py conformance --adapter {PROXIED}" in ci


def test_every_scenario_runs_in_some_ci_profile() -> None:
    profiles = [load_profile(BUNDLED_PROFILE), load_profile(ROOT / PROXIED)]
    never: dict[str, list[str]] = {}
    for path in sorted(LIBRARY.rglob(f"*{SUFFIX}")):
        scenario = load_scenario(path).scenario
        if scenario.provisional:
            continue  # a contract gap, documented as such; run with --run-test
        reasons = [not_run(scenario, profile) for profile in profiles]
        if all(reason is not None for reason in reasons):
            never[str(path.relative_to(ROOT))] = [r[1] for r in reasons if r is not None]
    assert not never, f"scenarios CI never runs (claim their features in a profile): {never}"


def test_an_http_profile_runs_client_address_cases_only_with_use_remote_address() -> None:
    """HTTP service mode carries the client address only in the headers Envoy sets with
    use_remote_address: without it, a case on the address is not_supported, with the fix."""
    http = load_profile(ROOT / "conformance/profiles/reference-adapter-http.yaml")
    path = LIBRARY / "ip_allowlist" / f"only-listed-addresses-allowed{SUFFIX}"
    scenario = load_scenario(path).scenario
    assert scenario.needs_client_address and "http" in scenario.transports
    assert http.ext_authz.use_remote_address and not_run(scenario, http) is None
    without = http.model_copy(
        update={"ext_authz": http.ext_authz.model_copy(update={"use_remote_address": False})}
    )
    outcome, reason = not_run(scenario, without) or (None, "")
    assert outcome is not None and outcome.value == "not_supported"
    assert "ext_authz.use_remote_address: true" in reason
