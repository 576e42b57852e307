"""No document takes a non-finite or absurd number: NaN and infinity in rates, latencies,
weights, deadlines and settings (which hung runs and what-ifs) are refused by the loaders with
the field and the allowed range, as are statuses that are not HTTP statuses."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from live.profile import BUNDLED_PROFILE, load_profile
from scenarios import LIBRARY, ScenarioError, load_scenario
from simulator.whatif import load_whatif

WHATIF = LIBRARY / "whatif" / "contract-revocation.whatif.yaml"
SCENARIO = LIBRARY / "analytics" / "ingest-outage-loses-nothing.scenario.yaml"
EVENTUALLY = LIBRARY / "client_id_enforcement" / "revoked-contract-denied.scenario.yaml"
INF, NAN = math.inf, math.nan


def _set(data: Any, path: str, value: Any) -> Any:
    parts = [int(p) if p.isdigit() else p for p in path.split(".")]
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {}) if isinstance(node, dict) else node[part]
    node[parts[-1]] = value
    return data


def _write(tmp_path: Path, source: Path, path: str, value: Any) -> Path:
    data = _set(yaml.safe_load(source.read_text()), path, value)
    target = tmp_path / source.name
    target.write_text(yaml.safe_dump(data, sort_keys=False))
    return target


def _problem(load: Any, target: Path) -> str:
    with pytest.raises(ScenarioError) as info:
        load(target)
    return str(info.value)


WHATIF_CASES = [
    ("traffic.arrival.rate", INF, "finite"),
    ("traffic.arrival.rate", NAN, "finite"),
    ("traffic.arrival.rate", 1e308, "1000000"),
    ("traffic.arrival.amplitude", NAN, "finite"),
    ("traffic.clients.0.weight", INF, "finite"),
    ("traffic.clients.0.weight", NAN, "finite"),
    ("traffic.clients.0.weight", 1e308, "1000000"),
    ("adapter.jitter", NAN, "finite"),
    ("adapter.service_time.sigma", INF, "finite"),
    ("adapter.service_time.sigma", 1e300, "10"),
    ("adapter.contracts_interval", INF, "a year"),
    ("latency.control_plane", 1e308, "a year"),
    ("duration", 1e308, "a year"),
    ("duration", 3e7, "2592000"),
]


@pytest.mark.parametrize(("field", "value", "range_"), WHATIF_CASES)
def test_whatif_spec_refuses_non_finite_and_absurd_numbers(
    field: str, value: float, range_: str, tmp_path: Path
) -> None:
    problem = _problem(load_whatif, _write(tmp_path, WHATIF, field, value))
    assert field.replace(".0.", "[0].") in problem, problem
    assert range_ in problem, problem


def test_whatif_refuses_more_requests_than_it_could_simulate(tmp_path: Path) -> None:
    spec = _write(tmp_path, WHATIF, "traffic.arrival.rate", 900_000)
    spec = _write(tmp_path, spec, "duration", "480h")
    problem = _problem(load_whatif, spec)
    assert "requests" in problem and "duration" in problem, problem


SCENARIO_CASES = [
    (SCENARIO, "steps.3.wait", {"sync": "analytics", "intervals": INF}, "finite"),
    (SCENARIO, "steps.3.wait", {"sync": "analytics", "intervals": NAN}, "finite"),
    (SCENARIO, "steps.3.wait", {"sync": "analytics", "intervals": 1e9}, "100"),
    (SCENARIO, "steps.3.wait.duration", "1000h", "3600"),
    (SCENARIO, "steps.4.analytics.within", INF, "a year"),
    (SCENARIO, "steps.4.analytics.within", "5h", "3600"),
    (SCENARIO, "steps.1.expect.status", 99999, "599"),
    (SCENARIO, "steps.1.expect.status", [200, 0], "100"),
    (SCENARIO, "data_plane", {"status_on_error": 7000}, "599"),
    (SCENARIO, "steps.1.statuses", {99999: 5}, "599"),
    (EVENTUALLY, "steps.2.eventually.within_sync", None, None),
]


@pytest.mark.parametrize(("source", "field", "value", "range_"), SCENARIO_CASES)
def test_scenario_refuses_non_finite_and_absurd_numbers(
    source: Path, field: str, value: Any, range_: str | None, tmp_path: Path
) -> None:
    if range_ is None:  # an eventually block: its deadline and poll interval
        for inner, bad, expected in (
            ("within", INF, "a year"),
            ("within", "2h", "3600"),
            ("every", "10m", "60"),
        ):
            data = yaml.safe_load(source.read_text())
            block = data["steps"][2]["eventually"]
            block.pop("within_sync", None)
            block["within"] = "5s"
            block[inner] = bad
            target = tmp_path / source.name
            target.write_text(yaml.safe_dump(data, sort_keys=False))
            problem = _problem(load_scenario, target)
            assert f"steps[2].eventually.{inner}" in problem, problem
            assert expected in problem, problem
        return
    problem = _problem(load_scenario, _write(tmp_path, source, field, value))
    assert range_ in problem, problem
    assert field.split(".")[0] in problem, problem


PROFILE_CASES = [
    ("timeout_scale", INF, "finite"),
    ("timeout_scale", NAN, "finite"),
    ("timeout_scale", 1e9, "100"),
    ("ext_authz.status_on_error", 0, "100"),
    ("ext_authz.timeout", "2h", "3600"),
    ("adapter.ready_timeout", INF, "a year"),
    ("sync.analytics_interval", NAN, "a year"),
]


@pytest.mark.parametrize(("field", "value", "range_"), PROFILE_CASES)
def test_profile_refuses_non_finite_and_absurd_numbers(
    field: str, value: Any, range_: str, tmp_path: Path
) -> None:
    data = yaml.safe_load(BUNDLED_PROFILE.read_text())
    data.setdefault("ext_authz", {})
    target = tmp_path / "profile.yaml"
    target.write_text(yaml.safe_dump(_set(data, field, value), sort_keys=False))
    problem = _problem(load_profile, target)
    assert field in problem and range_ in problem, problem


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["conformance", "--timeout-scale", "inf"], "--timeout-scale"),
        (["conformance", "--timeout-scale", "nan"], "--timeout-scale"),
        (["conformance", "--retries", "1000000"], "--retries"),
        (["serve", "adapter", "--platform-url", "http://127.0.0.1:1", "--ingest-url",
          "http://127.0.0.1:1", "--client-id", "a", "--client-secret", "b", "--org-id", "o",
          "--env-id", "e", "--analytics-interval", "inf"], "analytics_interval"),
        (["serve", "adapter", "--platform-url", "http://127.0.0.1:1", "--ingest-url",
          "http://127.0.0.1:1", "--client-id", "a", "--client-secret", "b", "--org-id", "o",
          "--env-id", "e", "--stop-flush-timeout", "nan"], "stop_flush_timeout"),
    ],
)  # fmt: skip
def test_command_line_numbers_are_finite_and_bounded(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from asmkit.cli import main

    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2 and expected in err, err
    assert "Traceback" not in err
