"""The suite catches broken adapters: each deliberately broken variant of the reference adapter
fails the scenario that covers its bug, on the step and field that show it, while a scenario
the bug does not touch still passes (so the variant is broken in one way only)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from conformance.results import Outcome, ScenarioResult
from conformance.runner import run_scenario
from live.profile import BUNDLED_PROFILE, AdapterProfile, load_profile
from scenarios import LIBRARY, load_scenario

CONTROL = "client_id_enforcement/approved-client-allowed"


@dataclass(frozen=True)
class Case:
    factory: str
    scenario: str
    step: str
    field: str


CASES = {
    "403 where 401 is due": Case(
        "create_wrong_status",
        "client_id_enforcement/unknown-client-rejected",
        "an unknown client id gets 401",
        "status",
    ),
    "fail open during an outage": Case(
        "create_fail_open_in_outage",
        "fail_static/outage-keeps-enforcing",
        "an unknown client is still denied",
        "status",
    ),
    "off-by-one rate-limit window": Case(
        "create_off_by_one_window",
        "rate_limiting/fixed-window-from-first-request",
        "the next request in the window gets 429",
        "status",
    ),
    "sliding rate-limit window": Case(
        "create_sliding_window",
        "rate_limiting/fixed-not-sliding-window",
        "the new window has its whole quota although two requests are under three seconds old"
        " (a sliding window would refuse them)",
        "statuses",
    ),
    "rate-limit windows counted from start-up": Case(
        "create_boot_aligned_window",
        "rate_limiting/window-opens-at-first-request",
        "the quota is still used up (a window counted from start-up would have reset)",
        "status",
    ),
    "revoked contracts honoured forever": Case(
        "create_revoked_honoured_forever",
        "client_id_enforcement/revoked-contract-denied",
        "the adapter denies the client within one contract sync",
        "status",
    ),
    "analytics dropped on retry": Case(
        "create_analytics_dropped_on_retry",
        "analytics/retried-batch-not-duplicated",
        "after the retry each event is there exactly once",
        "analytics.events[0]",
    ),
    "new batch id on retry": Case(
        "create_new_batch_id_on_retry",
        "analytics/lost-response-not-duplicated",
        "the retry is recognised and no event arrives twice",
        "analytics.event_id",
    ),
    "analytics dropped silently": Case(
        "create_silent_drops",
        "analytics/full-buffer-drops-are-counted",
        "the adapter reports that it dropped events",
        "analytics.dropped",
    ),
    "first token kept: policies stop syncing": Case(
        "create_keeps_its_first_token",
        "policy_sync/policy-applied-after-tokens-expire",
        "the adapter logs in again and rejects anonymous requests within one policy sync",
        "status",
    ),
    "first token kept: contracts stop syncing": Case(
        "create_keeps_its_first_token",
        "contract_sync/contract-revoked-after-tokens-expire",
        "the adapter logs in again and rejects the client within one contract sync",
        "status",
    ),
    "first token kept: analytics stop arriving": Case(
        "create_keeps_its_first_token",
        "analytics/delivered-after-tokens-expire",
        "the adapter logs in again and their events arrive, each once",
        "analytics.events[0]",
    ),
    "sync retried without back-off": Case(
        "create_hammering_sync",
        "contract_sync/contracts-outage-backs-off",
        "the retries backed off during the outage",
        "platform_calls.at_most",
    ),
    "analytics retried without back-off": Case(
        "create_hammering_analytics",
        "analytics/ingest-outage-backs-off",
        "the retries backed off during the outage",
        "platform_calls.at_most",
    ),
    "keep-alive 2xx taken for a failure": Case(
        "create_keepalive_success_as_failure",
        "discovery/keepalive-at-its-interval",
        "keep-alives came no more often than their interval",
        "platform_calls.at_most",
    ),
    "a cache of another version read as an empty state": Case(
        "create_reads_any_cache",
        "gatekeeper/restart-with-foreign-cache-waits-for-platform",
        "blocked, as without a cache",
        "status",
    ),
    "a removed cache directory never made again": Case(
        "create_cache_dir_never_made",
        "gatekeeper/restart-remakes-removed-state-dir",
        "the cache in the remade directory serves the approved client while its syncs fail",
        "status",
    ),
    "the contracts feed read whole at every sync": Case(
        "create_full_contract_reads",
        "contract_sync/contracts-read-from-cursor",
        "later reads",
        "platform_calls.at_least",
    ),
    "a clean stop that retries its flush forever": Case(
        "create_flushes_forever",
        "analytics/clean-stop-ends-during-ingest-outage",
        "a clean stop ends within the grace period",
        "adapters.within",
    ),
    "a 500 from the platform taken for a refusal, not an outage": Case(
        "broken_sync_adapters:create_server_error_as_refusal",
        "gatekeeper/strict-blocks-while-platform-answers-500",
        "the adapter blocks with 503 once a sync fails",
        "status",
    ),
    "an API without contract-based policies blocked until contracts are read": Case(
        "broken_sync_adapters:create_every_api_awaits_contracts",
        "gatekeeper/contracts-outage-spares-api-without-contract-policy",
        "served once its policies are read, with no contracts ever read",
        "status",
    ),
    "a rate-limit window that reopens only once": Case(
        "broken_sync_adapters:create_window_opens_once",
        "rate_limiting/fixed-window-from-first-request",
        "when that window passes the quota is back again, and in every window after it",
        "status",
    ),
    "contracts kept across a deleted binding": Case(
        "broken_sync_adapters:create_contracts_kept_across_unbinding",
        "policy_sync/rebound-api-reads-its-contracts-again",
        "back in the list, the API waits for its contracts",
        "status",
    ),
    "every LDAP user refused": Case(
        "broken_ldap_adapters:create_refuses_every_ldap_user",
        "ldap_auth/valid-ldap-credentials-allowed",
        "a user whose password binds is let through",
        "status",
    ),
    "any password accepted once the LDAP user is found": Case(
        "broken_ldap_adapters:create_any_ldap_password",
        "ldap_auth/valid-ldap-credentials-allowed",
        "the same user with a wrong password gets the Basic challenge",
        "status",
    ),
    "the LDAP user name put into the filter unescaped": Case(
        "broken_ldap_adapters:create_unescaped_ldap_filter",
        "ldap_auth/search-filter-on-another-attribute",
        "a wildcard in the user name is escaped, matching nobody",
        "status",
    ),
    "an SLA API opened before its contracts are read": Case(
        "broken_sync_adapters:create_sla_without_contracts",
        "gatekeeper/sla-api-blocked-until-contracts-synced",
        "the API is blocked with 503 while its policies are known but its contracts are not",
        "status",
    ),
    "a listed API opened before its policies are read": Case(
        "broken_sync_adapters:create_listed_api_open_before_policies",
        "gatekeeper/blocked-while-policies-refused",
        "the listed API is still blocked, for any client",
        "status",
    ),
    "the event's own id as its transaction id": Case(
        "broken_sync_adapters:create_event_id_as_transaction_id",
        "analytics/transaction-id-is-the-request-id",
        "its event carries that id as the transaction id",
        "analytics.events[0]",
    ),
    "contract reads held back until the API list is read again after a restart": Case(
        "broken_sync_adapters:create_contracts_await_api_list",
        "gatekeeper/restart-during-api-list-outage-syncs-contracts",
        "the new contract is honoured while the API list still fails",
        "status",
    ),
    "analytics posted at once after a refused batch": Case(
        "broken_sync_adapters:create_posts_at_once_after_refusal",
        "analytics/posts-keep-the-interval",
        "nothing more was posted before the interval",
        "platform_calls.at_most",
    ),
    "platform calls made before logging in": Case(
        "broken_sync_adapters:create_calls_before_login",
        "policy_sync/first-calls-bear-a-token",
        "no call since the start was refused for its token",
        "platform_calls.at_most",
    ),
    "-1 request bytes for a request without a body": Case(
        "broken_sync_adapters:create_unknown_size_as_minus_one",
        "analytics/allowed-event-fields",
        "its event carries the request and the outcome",
        "analytics.events[1]",
    ),
    "policies the adapter does not implement skipped": Case(
        "broken_sync_adapters:create_skips_unknown_policies",
        "gatekeeper/unknown-policy-applied-blocks-api",
        "the API is blocked with 503 within one policy sync, for every client",
        "status",
    ),
    "the configured sync back-off cap ignored": Case(
        "broken_sync_adapters:create_ignores_backoff_max",
        "contract_sync/retries-capped-by-backoff-max",
        "the retries kept to the configured cap",
        "platform_calls.at_least",
    ),
    "a state cache written before the first sync": Case(
        "broken_sync_adapters:create_caches_before_first_sync",
        "gatekeeper/restart-before-first-sync-stays-blocked",
        "still 503 after the restart, never 403 for an API list it never read",
        "status",
    ),
    "reopened rate-limit windows half their period (several limits)": Case(
        "broken_sync_adapters:create_reopened_windows_half_length",
        "rate_limiting/several-limits-reopened-window-lasts-its-period",
        "more than half a period later the second window is still used up",
        "status",
    ),
    "a keep-alive answered 200 or 202 taken for a failure": Case(
        "broken_sync_adapters:create_only_the_fakes_success_codes",
        "discovery/keepalive-any-2xx-accepted",
        "no keep-alive came again after the 200",
        "platform_calls.at_most",
    ),
    "an analytics post answered 200 taken for a refusal": Case(
        "broken_sync_adapters:create_only_the_fakes_success_codes",
        "analytics/ingest-200-accepted",
        "and none was reported dropped",
        "analytics.accounted_for",
    ),
    "a metrics endpoint left listening after stop": Case(
        "broken_lifecycle_adapters:create_metrics_left_listening",
        "analytics/flushed-at-clean-stop",
        "the adapter is stopped cleanly",
        "adapters.ports",
    ),
    "a state cache saved only at a clean stop": Case(
        "broken_lifecycle_adapters:create_saves_state_only_at_stop",
        "gatekeeper/restart-after-kill-during-outage-uses-cache",
        "the cached contract serves the approved client at once",
        "status",
    ),
    "a start that goes on without its ext_authz port": Case(
        "broken_lifecycle_adapters:create_runs_without_its_port",
        "robustness/port-in-use-fails-start",
        "started with its ext_authz port taken",
        "adapters.port_taken",
    ),
    "a failed start that keeps the ports it bound": Case(
        "broken_lifecycle_adapters:create_keeps_ports_of_failed_start",
        "robustness/metrics-port-in-use-fails-start",
        "started with its metrics port taken",
        "adapters.port_taken",
    ),
    "a flush at stop that gives each post 50 ms": Case(
        "broken_lifecycle_adapters:create_flush_posts_cut_short",
        "analytics/flushed-at-stop-through-slow-ingest",
        "every buffered event reached the ingest, once",
        "analytics.events[0]",
    ),
    "a new policy chain gated only from the next contracts read": Case(
        "broken_sync_adapters:create_policy_change_awaits_contracts_read",
        "gatekeeper/unknown-policy-applied-blocks-api",
        "the API is blocked with 503 within one policy sync, for every client",
        "status",
    ),
    "no gatekeeper": Case(
        "create_no_gatekeeper",
        "gatekeeper/blocked-until-first-sync",
        "requests are blocked with 503 before the first sync",
        "status",
    ),
}


def profile_for(factory: str) -> AdapterProfile:
    """The bundled profile with ``factory`` (``create_x`` in `broken_adapters`, or
    ``module:create_x`` in another module of this package) as its in-process adapter."""
    module, _, name = factory.rpartition(":")
    module = module or "broken_adapters"
    bundled = load_profile(BUNDLED_PROFILE)
    adapter = bundled.adapter.model_copy(
        update={"in_process": f"tests.conformance.{module}:{name}"}
    )
    return bundled.model_copy(update={"adapter": adapter})


def run(name: str, profile: AdapterProfile) -> ScenarioResult:
    source = load_scenario(LIBRARY / f"{name}.scenario.yaml")
    return asyncio.run(run_scenario(source, profile))


@pytest.mark.parametrize("bug", list(CASES))
def test_suite_fails_the_broken_adapter_on_the_right_case(bug: str) -> None:
    case = CASES[bug]
    profile = profile_for(case.factory)
    result = run(case.scenario, profile)
    assert result.outcome == Outcome.FAILED, f"the suite did not catch: {bug}"
    assert result.failure is not None, result.error
    assert result.failure.step_name == case.step
    assert any(m.field.startswith(case.field) for m in result.failure.mismatches), (
        result.failure.render()
    )
    assert run(CONTROL, profile).outcome == Outcome.PASSED


def test_reference_adapter_passes_the_same_cases() -> None:
    profile = load_profile(BUNDLED_PROFILE)
    for case in CASES.values():
        result = run(case.scenario, profile)
        assert result.outcome == Outcome.PASSED, result.failure and result.failure.render()


def test_the_trace_shows_the_refused_calls_and_the_new_login() -> None:
    """After ``expire_tokens`` the trace shows the first call refused with 401 (a sync call or
    an analytics post: failed posts are shown, not only delivered batches), then the adapter's
    new login, then a delivered batch."""
    result = run("analytics/delivered-after-tokens-expire", load_profile(BUNDLED_PROFILE))
    assert result.outcome == Outcome.PASSED, result.failure and result.failure.render()
    lines = [t.summary for t in result.trace]
    expired = next(i for i, s in enumerate(lines) if s.startswith("access tokens expired"))
    after = lines[expired:]
    refused = next(i for i, s in enumerate(after) if s.startswith("adapter ") and "-> 401" in s)
    login = after.index("adapter POST /accounts/api/v2/oauth2/token -> 200")
    batch = next(i for i, s in enumerate(after) if i > login and s.startswith("ingest batch"))
    assert refused < login < batch, after
    assert sum(e["status"] == 401 for e in result.journal) >= 1


def test_a_profile_that_waives_retry_backoff_is_not_judged_on_it() -> None:
    profile = profile_for("create_hammering_sync")
    waived = profile.model_copy(update={"waive": {"retry-backoff": "retries every 50 ms"}})
    result = run("contract_sync/contracts-outage-backs-off", waived)
    assert result.outcome == Outcome.PASSED, result.failure and result.failure.render()
    notes = [t.summary for t in result.trace if t.kind == "platform_calls"]
    assert notes == ["skipped: convention retry-backoff is waived"]
