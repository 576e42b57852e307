"""The ``platform_calls`` step: valid windows, bounds and waits load; a window naming no earlier
step or no fault, an unknown data kind, no bound, crossed bounds, a wait without at_least and an
unknown convention are reported with file:line, the key path, the value and a fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios import ScenarioError, load_scenario
from scenarios.steps import PlatformCallsStep

HEAD = """\
name: sample
description: A sample scenario.
features: [contract-sync]
control_plane:
  apis: [{key: orders}]
faults:
  - {name: contracts-outage, data: contracts, status: 503, lasting: 2s}
steps:
  - name: quiet
    wait: {duration: 1s}
"""


def write(tmp_path: Path, steps: str) -> Path:
    path = tmp_path / "sample.scenario.yaml"
    path.write_text(HEAD + steps)
    return path


def problems(tmp_path: Path, steps: str) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, steps))
    return str(info.value)


def test_windows_and_bounds_load(tmp_path: Path) -> None:
    source = load_scenario(
        write(
            tmp_path,
            """\
  - platform_calls: {data: contracts, during: contracts-outage, at_most: 4,
                     convention: retry-backoff}
  - name: later outage
    fault: {data: ingest, status: 503, lasting: 1s, name: ingest-outage}
  - platform_calls: {data: ingest, during: ingest-outage, at_least: 1}
  - platform_calls: {data: keepalive, between: [quiet, later outage], at_most: 2}
  - platform_calls: {data: policies, at_most: 10}
""",
        )
    )
    steps = [s for s in source.scenario.steps if isinstance(s, PlatformCallsStep)]
    assert [s.platform_calls.data for s in steps] == [
        "contracts",
        "ingest",
        "keepalive",
        "policies",
    ]
    assert steps[0].platform_calls.convention == "retry-backoff"
    assert steps[2].platform_calls.between == ["quiet", "later outage"]
    assert steps[3].platform_calls.window() == "since the adapter started"


def test_a_wait_for_calls_since_a_step_loads(tmp_path: Path) -> None:
    source = load_scenario(
        write(
            tmp_path,
            """\
  - platform_calls: {data: [token, policies], since: quiet, at_least: 2, within: 10s}
  - platform_calls: {data: token, since: quiet, at_least: 1, within_sync: policies,
                     intervals: 3, slack: 500ms}
""",
        )
    )
    first, second = [s for s in source.scenario.steps if isinstance(s, PlatformCallsStep)]
    assert first.platform_calls.kinds == ("token", "policies")
    assert first.platform_calls.counted() == "token/policies calls"
    assert first.platform_calls.window() == "since the start of step 'quiet'"
    assert first.platform_calls.waits and second.platform_calls.waits
    assert second.platform_calls.kinds == ("token",) and second.platform_calls.intervals == 3


def test_since_must_name_an_earlier_step(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        """\
  - platform_calls: {data: token, since: restarted, at_least: 1, within: 5s}
  - name: restarted
    adapters: start
""",
    )
    assert "sample.scenario.yaml:11:" in text
    assert "steps[1].platform_calls.since: names no earlier step: 'restarted'" in text
    assert "named steps so far: 'quiet'" in text


def test_between_must_name_earlier_steps(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        """\
  - platform_calls: {data: policies, between: [quiet, not yet], at_most: 2}
  - name: not yet
    wait: {duration: 1s}
""",
    )
    assert "sample.scenario.yaml:11:" in text
    assert "steps[1].platform_calls.between[1]: names no earlier step: 'not yet'" in text
    assert "named steps so far: 'quiet'" in text
    assert "hint: name the steps that open and close the window" in text


def test_during_must_name_a_fault_given_before(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        """\
  - platform_calls: {data: ingest, during: ingest-outage, at_most: 3}
  - fault: {data: ingest, status: 503, lasting: 1s, name: ingest-outage}
""",
    )
    assert "steps[1].platform_calls.during: names no fault given before this step:" in text
    assert "'ingest-outage' (named faults so far: 'contracts-outage')" in text
    assert "hint: give the fault a name" in text


@pytest.mark.parametrize(
    ("step", "wanted"),
    [
        (
            "{data: contract, at_most: 2}",
            "steps[1].platform_calls.data: 'contract' is not allowed here"
            " (did you mean 'contracts'?)",
        ),
        ("{data: contracts}", "give at_most (e.g. 4), at_least (e.g. 2) or backoff (e.g. 400ms)"),
        ("{data: contracts, backoff: 0s}", "steps[1].platform_calls.backoff"),
        ("{data: contracts, at_most: 2, at_least: 3}", "at_least (3) is more than at_most (2)"),
        ("{data: contracts, at_most: -1}", "steps[1].platform_calls.at_most"),
        (
            "{data: contracts, at_most: 2, during: contracts-outage, between: [quiet, quiet]}",
            "give at most one window: during (a fault), between (two steps) or since (a step)",
        ),
        (
            "{data: contracts, at_most: 2, since: quiet, between: [quiet, quiet]}",
            "give at most one window",
        ),
        ("{data: [], at_most: 2}", "data lists no kind: name one or more"),
        ("{data: [token, polices], at_most: 2}", "steps[1].platform_calls.data"),
        (
            "{data: [token, apis, token, apis, token, apis, token, apis, token, apis], at_most: 2}",
            "steps[1].platform_calls.data",
        ),
        (
            "{data: token, at_most: 2, within: 3s}",
            "within and within_sync wait until at_least calls have come: give at_least",
        ),
        (
            "{data: token, at_least: 1, backoff: 400ms, within_sync: policies}",
            "within and within_sync wait until at_least calls have come",
        ),
        (
            "{data: token, at_least: 1, within: 3s, within_sync: policies}",
            "give at most one deadline: within (e.g. 3s) or within_sync",
        ),
        (
            "{data: contracts, at_most: 2, convention: back-off}",
            "unknown convention 'back-off'; known: client-id-only-when-authenticated",
        ),
        ("{data: contracts, at_most: 2, between: [quiet]}", "between takes two step names"),
        ("{data: policies, answered: 600, at_most: 0}", "steps[1].platform_calls.answered"),
        (
            "{data: policies, answered: 503, backoff: 400ms}",
            "backoff paces every call, whatever its answer",
        ),
    ],
)
def test_bad_expectations_are_named(tmp_path: Path, step: str, wanted: str) -> None:
    text = problems(tmp_path, f"  - platform_calls: {step}\n")
    assert "sample.scenario.yaml:11:" in text
    assert wanted in text
