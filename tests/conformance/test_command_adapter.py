"""Any adapter, as a black box: the reference adapter started as a child process from a
``command:`` profile (templated argv, a fresh process per scenario, stopped with SIGTERM),
exactly as an adapter written in another language would be."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from conformance.results import Outcome
from conformance.runner import run_scenario
from live.launch import AdapterError
from live.profile import AdapterProfile, load_profile
from scenarios import LIBRARY, load_scenario

PROFILE = Path(__file__).parents[2] / "conformance" / "profiles" / "reference-adapter-process.yaml"


def process_profile() -> AdapterProfile:
    profile = load_profile(PROFILE)
    command = [
        sys.executable if part == "python" else part for part in profile.adapter.command or []
    ]
    adapter = profile.adapter.model_copy(update={"command": command})
    return profile.model_copy(update={"adapter": adapter})


@pytest.mark.parametrize(
    "name",
    [
        "client_id_enforcement/approved-client-allowed",
        "client_id_enforcement/revoked-contract-denied",
        "analytics/batched-by-size",
    ],
)
def test_process_adapter_passes(name: str, tmp_path: Path) -> None:
    source = load_scenario(LIBRARY / f"{name}.scenario.yaml")
    result = asyncio.run(run_scenario(source, process_profile(), log_dir=tmp_path))
    assert result.outcome == Outcome.PASSED, result.failure and result.failure.render()


def test_a_command_that_dies_is_reported_with_its_output(tmp_path: Path) -> None:
    profile = process_profile()
    command = [*(profile.adapter.command or []), "--no-such-flag"]
    broken = profile.model_copy(
        update={
            "adapter": profile.adapter.model_copy(
                update={"command": command, "ready_timeout": 10.0}
            )
        }
    )
    source = load_scenario(LIBRARY / "client_id_enforcement/approved-client-allowed.scenario.yaml")
    result = asyncio.run(run_scenario(source, broken, log_dir=tmp_path))
    assert result.outcome == Outcome.FAILED
    assert result.error is not None
    assert "did not open 127.0.0.1:" in result.error
    assert "--no-such-flag" in result.error  # the adapter's own complaint, from its log


def test_a_missing_program_is_a_clear_error() -> None:
    with pytest.raises(AdapterError, match="cannot run the adapter command 'no-such-adapter-xyz'"):
        from live.launch import start_adapter

        profile = process_profile()
        launch = profile.adapter.model_copy(
            update={"command": ["no-such-adapter-xyz"], "env": {}, "metrics_url": None}
        )
        asyncio.run(
            start_adapter(
                launch, {"grpc_port": 1, "http_port": None}, transport="grpc", log_path=None
            )
        )
