"""Counting the adapter's calls in a window: a fault's window opens at its first firing and
closes at its end, a step window spans its steps, only the data asked for counts, and a broken
bound fails with every call (time, path, answer) and the bound as evidence; a step with a
deadline waits for the calls since a named step and fails at the deadline with what came."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from conformance.platform_calls import (
    EVIDENCE_LIMIT,
    Window,
    call_evidence,
    calls_in,
    early_retries,
    failed,
    fault_window,
    filtered,
    pacing_mismatches,
    run_platform_calls,
    step_window,
)
from conformance.results import StepFailed
from fake_anypoint import ActiveFault, FaultSpec, JournalEntry
from scenarios.expectations import PlatformCallsExpect
from scenarios.steps import PlatformCallsStep

SCOPE = "/organizations/o/environments/e"
CONTRACTS = f"/apigateway/ccs/v3{SCOPE}/apis/1/contracts"


def call(at: float, data: str = "contracts", fault: str | None = None) -> JournalEntry:
    status = 503 if fault else 200
    return JournalEntry("GET", CONTRACTS, status, at, 0.01, fault, (data,))


def outage(start: float = 10.0, end: float | None = 15.5) -> ActiveFault:
    spec = FaultSpec(data=["contracts"], status=503, lasting=5.5, name="contracts-outage")
    return ActiveFault(spec, start, end)


def test_a_fault_window_opens_at_its_first_firing_and_closes_at_its_end() -> None:
    journal = [
        call(9.0),
        call(12.0, fault="contracts-outage"),
        call(13.0, fault="contracts-outage"),
    ]
    window = fault_window("contracts-outage", [outage()], journal, now=20.0)
    assert (window.start, window.end) == (12.0, 15.5)
    assert window.note == "3.500s from its first firing"
    assert [e.started for e in calls_in(journal, "contracts", window)] == [12.0, 13.0]


def test_a_fault_still_on_closes_now_and_one_never_fired_has_no_calls() -> None:
    journal = [call(9.0)]
    window = fault_window("contracts-outage", [outage(end=None)], journal, now=11.0)
    assert window.start is None and window.note == "it has not fired yet"
    assert calls_in(journal, "contracts", window) == []
    fired = [call(10.5, fault="contracts-outage")]
    assert fault_window("contracts-outage", [outage(end=None)], fired, now=11.0).end == 11.0


def test_the_latest_fault_of_that_name_counts() -> None:
    journal = [call(1.0, fault="contracts-outage"), call(31.0, fault="contracts-outage")]
    faults = [outage(0.5, 6.0), outage(30.0, 35.5)]
    assert fault_window("contracts-outage", faults, journal, now=40.0).start == 31.0


def test_a_step_window_spans_the_first_step_start_to_the_last_step_end() -> None:
    window = step_window((2.0, 3.0), (4.0, 7.5))
    assert (window.start, window.end, window.note) == (2.0, 7.5, "5.500s")
    journal = [call(1.9), call(2.0), call(5.0, "policies"), call(7.4), call(7.5)]
    assert [e.started for e in calls_in(journal, "contracts", window)] == [2.0, 7.4]
    assert step_window(None, (4.0, 7.5)).start is None


def test_within_bounds_nothing_is_reported() -> None:
    spec = PlatformCallsExpect(data="contracts", during="contracts-outage", at_most=2, at_least=1)
    calls = [call(12.0, fault="x"), call(12.5, fault="x")]
    assert pacing_mismatches(spec, calls, Window(12.0, 15.5, "3.5s"), []) == []


def test_too_many_calls_fail_with_every_call_and_the_bound() -> None:
    spec = PlatformCallsExpect(data="contracts", during="contracts-outage", at_most=2)
    calls = [call(12.0 + i / 10, fault="contracts-outage") for i in range(4)]
    evidence = call_evidence(calls, origin=10.0, scope=SCOPE)
    [mismatch] = pacing_mismatches(spec, calls, Window(12.0, 15.5, "3.500s"), evidence)
    assert mismatch.field == "platform_calls.at_most"
    assert mismatch.expected == (
        "at most 2 contracts calls during fault 'contracts-outage' (3.500s)"
    )
    assert mismatch.actual.startswith(
        "4 calls: +2.000s GET /apigateway/ccs/v3/…/apis/1/contracts -> 503"
        " [fault: contracts-outage]; +2.100s GET"
    )
    assert mismatch.actual.count("->") == 4


def test_too_few_calls_fail_and_show_what_came() -> None:
    spec = PlatformCallsExpect(data="ingest", between=["a", "b"], at_least=2)
    calls = [call(3.0, "ingest")]
    evidence = call_evidence(calls, origin=1.0, scope=SCOPE)
    [mismatch] = pacing_mismatches(spec, calls, Window(2.0, 8.0, "6.000s"), evidence)
    assert mismatch.field == "platform_calls.at_least"
    assert "at least 2 ingest calls between the start of step 'a' and the end of 'b'" in str(
        mismatch.expected
    )
    assert mismatch.actual.startswith("1 call: +2.000s GET")


def test_evidence_is_bounded_but_the_count_is_not() -> None:
    calls = [call(float(i)) for i in range(EVIDENCE_LIMIT + 5)]
    lines = call_evidence(calls, origin=0.0, scope=SCOPE)
    assert len(lines) == EVIDENCE_LIMIT + 1 and lines[-1] == "… and 5 more"
    spec = PlatformCallsExpect(data="contracts", at_most=3)
    [mismatch] = pacing_mismatches(spec, calls, Window(0.0, 99.0, "99s"), lines)
    assert mismatch.actual.startswith(f"{EVIDENCE_LIMIT + 5} calls:")


def test_retries_that_back_off_pass_the_backoff_check() -> None:
    fault = "contracts-outage"
    calls = [call(0.0, fault=fault), call(0.45, fault=fault), call(1.3, fault=fault)]
    calls += [call(3.0, fault=fault), call(6.3)]  # gaps 0.45, 0.85, 1.7, 3.3
    assert early_retries(calls, 0.4) == []
    spec = PlatformCallsExpect(data="contracts", during=fault, backoff=0.4)
    assert pacing_mismatches(spec, calls, Window(0.0, 5.5, "5.500s"), []) == []


def test_a_retry_sooner_than_the_backoff_fails_naming_it() -> None:
    fault = "contracts-outage"
    calls = [call(0.0, fault=fault), call(0.5, fault=fault), call(1.0, fault=fault)]
    assert early_retries(calls, 0.4) == [
        "GET contracts 0.500s after failure 2 in a row (at least 0.8s)"
    ]
    spec = PlatformCallsExpect(data="contracts", during=fault, backoff=0.4)
    evidence = call_evidence(calls, origin=0.0, scope=SCOPE)
    [mismatch] = pacing_mismatches(spec, calls, Window(0.0, 5.5, "5.500s"), evidence)
    assert mismatch.field == "platform_calls.backoff"
    assert "at least 0.4s x 2^(k-1) later" in str(mismatch.expected)
    assert "(3 calls: +0.000s GET" in mismatch.actual


def test_the_backoff_counts_per_path_and_caller_and_restarts_after_a_success() -> None:
    other = JournalEntry(
        "GET", CONTRACTS.replace("/1/", "/2/"), 503, 0.1, 0.01, "f", ("contracts",)
    )
    replica = JournalEntry("GET", CONTRACTS, 503, 0.2, 0.01, "f", ("contracts",), caller="b")
    after_success = [call(0.0, fault="f"), call(0.5), call(0.6, fault="f"), call(1.05, fault="f")]
    assert early_retries([call(0.0, fault="f"), other, replica, call(0.4, fault="f")], 0.4) == []
    assert early_retries(after_success, 0.4) == []  # 0.5: a success; 0.6 -> 1.05 is failure 1


def test_a_dropped_call_a_401_and_a_429_are_failures_a_304_is_not() -> None:
    def answered(status: int) -> JournalEntry:
        return JournalEntry("GET", CONTRACTS, status, 0.0, 0.01, None, ("contracts",))

    assert [failed(answered(s)) for s in (0, 401, 429, 500, 503, 200, 304, 404)] == [
        True, True, True, True, True, False, False, False
    ]  # fmt: skip


def test_answered_counts_only_that_status_and_the_evidence_shows_every_call() -> None:
    policies = f"/apigateway/ccs/v3{SCOPE}/apis/1/policies"
    seen = [
        JournalEntry("GET", policies, 304, 1.0, 0.01, None, ("policies",)),
        JournalEntry("GET", policies, 200, 2.0, 0.01, None, ("policies",)),
        JournalEntry("GET", policies, 304, 3.0, 0.01, None, ("policies",)),
    ]
    only_304 = PlatformCallsExpect(data="policies", answered=304, at_most=0)
    assert [e.started for e in filtered(seen, only_304)] == [1.0, 3.0]
    assert filtered(seen, PlatformCallsExpect(data="policies", at_most=0)) == seen
    spec = PlatformCallsExpect(data="policies", answered=200, at_most=0)
    evidence = call_evidence(seen, 0.0, SCOPE)
    (bad,) = pacing_mismatches(spec, filtered(seen, spec), Window(0.0, 4.0, "4s"), evidence)
    assert bad.field == "platform_calls.at_most"
    assert bad.expected.startswith("at most 0 policies calls answered 200 since the adapter")
    # the count is of 200s; the evidence lists the 304s around the one 200 too
    assert str(bad.actual).startswith(
        "1 call answered 200: +1.000s GET /apigateway/ccs/v3/…/apis/1/policies -> 304"
    )
    assert "+2.000s GET /apigateway/ccs/v3/…/apis/1/policies -> 200" in str(bad.actual)


class _Clock:
    def now(self) -> float:
        return asyncio.get_running_loop().time()


class _Run:
    """What `run_platform_calls` reads of a scenario run: the fake's journal and clock, the
    marks of named steps, the deadline scale, the trace."""

    def __init__(self, journal: list[JournalEntry], began: float) -> None:
        state = SimpleNamespace(
            journal=lambda: list(journal), clock=_Clock(), org_id="o", env_id="e"
        )
        self.stack = SimpleNamespace(state=state, settings=None)
        self.marks = {"restarted": (began, began + 0.01)}
        self.waived: frozenset[str] = frozenset()
        self.faults: list[ActiveFault] = []
        self.started = began
        self.notes: list[str] = []

    def deadline(self, within: float | None, sync: object, slack: float, intervals: float) -> float:
        assert within is not None
        return within

    def note(self, kind: str, summary: str, **detail: object) -> None:
        self.notes.append(summary)


def _step(**spec: object) -> PlatformCallsStep:
    return PlatformCallsStep(platform_calls=PlatformCallsExpect.model_validate(spec))


def test_a_wait_returns_once_the_calls_since_its_step_have_come() -> None:
    async def scenario() -> tuple[float, list[str]]:
        loop = asyncio.get_running_loop()
        began = loop.time()
        journal = [call(began - 1.0, "token", fault="outage")]  # before the step: not counted

        def arrive() -> None:
            journal.append(call(loop.time(), "token", fault="outage"))

        loop.call_later(0.1, arrive)
        loop.call_later(0.2, arrive)
        run = _Run(journal, began)
        step = _step(data=["token", "policies"], since="restarted", at_least=2, within=5.0)
        await run_platform_calls(run, step)  # type: ignore[arg-type]
        return loop.time() - began, run.notes

    waited, notes = asyncio.run(scenario())
    assert 0.2 <= waited < 2.0  # an event, not the deadline
    assert notes[0].startswith("2 token/policies calls since the start of step 'restarted'")
    assert "expected at least 2; waited" in notes[0]


def test_a_wait_fails_at_its_deadline_listing_what_came() -> None:
    async def scenario() -> StepFailed:
        began = asyncio.get_running_loop().time()
        run = _Run([call(began + 0.001, "token", fault="outage")], began)
        step = _step(data="token", since="restarted", at_least=3, within=0.3)
        with pytest.raises(StepFailed) as info:
            await run_platform_calls(run, step)  # type: ignore[arg-type]
        return info.value

    failure = asyncio.run(scenario())
    (bad,) = failure.mismatches
    assert bad.field == "platform_calls.at_least"
    assert "1 token call since the start of step 'restarted'" in failure.message
    assert "waited 0.3" in failure.message and "of at most 0.3s" in failure.message
    assert "[fault: outage]" in str(bad.actual)


def test_with_query_counts_reads_from_a_cursor_and_the_evidence_shows_names_not_values() -> None:
    feed = f"/apigateway/ccs/v3{SCOPE}/apis/1/contracts"
    seen = [
        JournalEntry("GET", feed, 200, 1.0, 0.01, None, ("contracts",)),
        JournalEntry("GET", feed, 200, 2.0, 0.01, None, ("contracts",), "updatedSince=17&limit=50"),
        JournalEntry("GET", feed, 200, 3.0, 0.01, None, ("contracts",), "limit=50"),
    ]
    spec = PlatformCallsExpect(data="contracts", with_query=["updatedSince"], at_least=2)
    assert [e.started for e in filtered(seen, spec)] == [2.0]
    evidence = call_evidence(seen, 0.0, SCOPE)
    (bad,) = pacing_mismatches(spec, filtered(seen, spec), Window(0.0, 4.0, "4s"), evidence)
    assert bad.field == "platform_calls.at_least"
    assert "contracts calls carrying updatedSince" in bad.expected
    assert "+2.000s GET /apigateway/ccs/v3/…/apis/1/contracts?limit,updatedSince=… -> 200" in str(
        bad.actual
    )
    assert "17" not in str(bad.actual).split("->")[1]  # a value (a cursor, a secret) never shown


def test_with_query_is_not_paced_and_names_are_bounded() -> None:
    with pytest.raises(ValueError, match="whatever its answer or query"):
        PlatformCallsExpect(data="contracts", with_query=["updatedSince"], backoff=0.4)
    with pytest.raises(ValueError):
        PlatformCallsExpect(data="contracts", with_query=["a b"], at_least=1)
