"""The reference adapter, hard-wired to https://anypoint.mulesoft.com and given nothing else,
runs scenarios through the proxy in both redirect modes; its recording replays into a fresh
fake (and a tampered recording changes what it does); network fault steps act, and an adapter
that accepts a bad certificate fails the case."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import yaml

from conformance.results import Outcome, ScenarioResult
from conformance.runner import run_scenario
from live.profile import BUNDLED_PROFILE, AdapterProfile, load_profile
from scenarios.loader import load_scenario
from scenarios.problems import ScenarioError
from tests.proxy.helpers import require_mitm, require_netns

ROOT = Path(__file__).resolve().parents[2]
PROXIED = ROOT / "conformance" / "profiles" / "reference-adapter-proxied.yaml"
LIBRARY = ROOT / "scenarios"
INSECURE = (
    "import runpy, sys, httpx; init = httpx.AsyncClient.__init__;"
    " httpx.AsyncClient.__init__ = lambda self, *a, **k: init(self, *a, **{**k, 'verify': False});"
    " sys.argv = ['reference_adapter', *sys.argv[1:]];"
    " runpy.run_module('reference_adapter', run_name='__main__')"
)


@pytest.fixture(autouse=True)
def _needs_proxy_and_root() -> None:
    require_netns()
    require_mitm()


def _profile(tmp_path: Path, **control_plane: object) -> Path:
    data = yaml.safe_load(PROXIED.read_text())
    data["control_plane"].update(control_plane)
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _run(scenario: str, profile: AdapterProfile | Path) -> ScenarioResult:
    loaded = profile if isinstance(profile, AdapterProfile) else load_profile(profile)
    return asyncio.run(run_scenario(load_scenario(LIBRARY / scenario), loaded))


def _passed(result: ScenarioResult) -> None:
    detail = result.failure.render() if result.failure else result.error
    assert result.outcome == Outcome.PASSED, detail


@pytest.mark.parametrize("redirect", ["netns", "env"])
def test_a_hard_wired_adapter_passes_through_the_proxy(tmp_path: Path, redirect: str) -> None:
    result = _run(
        "client_id_enforcement/revoked-contract-denied.scenario.yaml",
        _profile(tmp_path, redirect=redirect),
    )
    _passed(result)
    calls = [entry["path"] for entry in result.journal]
    assert any(path.endswith("/contracts") for path in calls)
    assert any(path == "/v2/analytics/events" for path in calls)


def test_a_recording_replays_into_a_fresh_fake(tmp_path: Path) -> None:
    scenario = "client_id_enforcement/revoked-contract-denied.scenario.yaml"
    cassettes = tmp_path / "cassettes"
    _passed(_run(scenario, _profile(tmp_path, record=str(cassettes))))
    path = cassettes / "revoked-contract-denied.cassette.json"
    text = path.read_text()
    assert "client_secret" in text and "<redacted>" in text and "Bearer" not in text

    bundled = load_profile(BUNDLED_PROFILE)  # the in-process adapter, straight at the fake
    replaying = bundled.model_copy(
        update={"control_plane": bundled.control_plane.model_copy(update={"replay": cassettes})}
    )
    replayed = _run(scenario, replaying)
    _passed(replayed)
    (summary,) = [t.summary for t in replayed.trace if t.kind == "replay"]
    assert summary.startswith("cassette answered") and summary.endswith("implement: 0")
    assert any(entry.get("replayed") for entry in replayed.journal)

    # The replay is what the adapter sees: take the approved contract out of the recording and
    # the client the scenario allows is denied.
    cassette = json.loads(text)
    for item in cassette["interactions"]:
        if item["request"]["path"].endswith("/contracts") and "response" in item:
            body = json.loads(item["response"]["body"])
            body["data"] = []
            item["response"]["body"] = json.dumps(body)
    path.write_text(json.dumps(cassette))
    tampered = _run(scenario, replaying)
    assert tampered.outcome == Outcome.FAILED
    assert (
        tampered.failure is not None
        and "allowed while its contract is approved" in tampered.failure.step_name
    )


def test_a_network_fault_needs_the_proxy(tmp_path: Path) -> None:
    result = _run("network_faults/stalled-answers-keep-last-state.scenario.yaml", BUNDLED_PROFILE)
    assert result.outcome == Outcome.FAILED and result.failure is not None
    assert "control_plane: {via: proxy}" in result.failure.message


ACCEPTS = """
name: bad-certificate-refused
description: A certificate for another host is refused.
features: [network-faults, client-id-enforcement]
adapter: {contracts_interval: 200ms, policies_interval: 200ms}
control_plane:
  apis:
    - key: orders
      policies: [{key: cid, asset_id: client-id-enforcement}]
steps:
  - fault: {network: {kind: wrong_host_certificate, host: platform, lasting: 1s}}
  - wait: {duration: 800ms}
  - request: {api: orders, path: /orders}
    expect: {status: 401}
"""


def test_an_adapter_that_accepts_a_bad_certificate_fails(tmp_path: Path) -> None:
    data = yaml.safe_load(PROXIED.read_text())
    command = data["adapter"]["command"]
    data["adapter"]["command"] = [command[0], "-c", INSECURE, *command[3:]]
    (tmp_path / "insecure.yaml").write_text(yaml.safe_dump(data))
    scenario = tmp_path / "bad-certificate-refused.scenario.yaml"
    scenario.write_text(ACCEPTS)
    result = asyncio.run(
        run_scenario(load_scenario(scenario), load_profile(tmp_path / "insecure.yaml"))
    )
    assert result.outcome == Outcome.FAILED and result.failure is not None
    assert "accepted a bad TLS certificate" in result.failure.message
    assert any(t.kind == "network" and "ACCEPTED" in t.summary for t in result.trace)


def test_profiles_that_cannot_work_are_refused(tmp_path: Path) -> None:
    data = yaml.safe_load(BUNDLED_PROFILE.read_text())
    data["control_plane"] = {"via": "proxy"}
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ScenarioError, match=r"adapter\.command"):
        load_profile(tmp_path / "a.yaml")
    data["control_plane"] = {"record": "x"}
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(ScenarioError, match="record needs via: proxy"):
        load_profile(tmp_path / "b.yaml")
