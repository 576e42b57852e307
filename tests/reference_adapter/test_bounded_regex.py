"""Header-removal patterns come from the platform's policy configuration: a pattern whose
matching time could explode (Python's `re` backtracks and has no timeout) is a configuration
error naming the pattern and the fix, and a long header name is never matched against one."""

from __future__ import annotations

import time

import pytest

from reference_adapter import DecisionEngine
from reference_adapter.policies.bounded_regex import MAX_SUBJECT, compile_bounded

from .helpers import API, engine_with, policy, req


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("(a+)+$", "no quantifier inside a quantified group"),
        ("((a*))*", "no quantifier inside a quantified group"),
        ("(a|aa)+$", "no alternation inside a quantified group"),
        (r"(x-)\1", "no back-references"),
        (".*.*.*x", "at most 2 open-ended quantifiers"),
        ("x" * 200 + ".", "at most 200 characters"),
        ("[", "a valid regular expression"),
    ],
)
def test_a_pattern_that_could_explode_is_refused(pattern: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        compile_bounded(pattern)
    error = DecisionEngine().load_policies(
        API, [policy("header-removal", {"inboundHeaders": [pattern]})]
    )
    assert error is not None and "inboundHeaders" in error and why in error


def test_usual_patterns_are_accepted_and_stay_fast() -> None:
    for pattern in ("Access-Control.*", "x-(foo|bar)-.*", "x-[a-z]{1,8}", ".*.*x"):
        compile_bounded(pattern)
    worst = compile_bounded(".*-.*y")
    started = time.perf_counter()
    assert worst.fullmatch("-" * MAX_SUBJECT) is None
    assert time.perf_counter() - started < 0.5  # about 256² steps, not 2^256


def test_a_header_name_longer_than_the_bound_is_not_matched_against_patterns() -> None:
    engine = engine_with([policy("header-removal", {"inboundHeaders": ["x-long.*"]})])
    short, long = "x-long-" + "a" * 10, "x-long-" + "a" * MAX_SUBJECT
    decision = engine.decide(req({short: "1", long: "2"}), 0)
    assert decision.upstream_remove == (short,)


def test_a_pointcut_pattern_is_bounded_and_a_very_long_path_is_policed() -> None:
    """pointcutData's regular expressions come from the platform and meet the client's path:
    an exploding pattern is a configuration error, and a path too long to match safely
    counts as matching, so the policy applies (fail closed)."""
    from reference_adapter.policies.bounded_regex import MAX_PATH

    from .helpers import client_id_policy

    error = DecisionEngine().load_policies(
        API, [client_id_policy(pointcut=[{"uriTemplateRegex": "/(a*)*$"}])]
    )
    assert error is not None and "pointcutData" in error and "quantified group" in error
    engine = engine_with([client_id_policy(pointcut=[{"uriTemplateRegex": "/orders/.*"}])])
    assert engine.decide(req(path="/items/1"), 0).allowed  # outside the pointcut
    long_path = "/items/" + "a" * MAX_PATH
    assert engine.decide(req(path=long_path), 0).status == 401  # policed, not skipped
