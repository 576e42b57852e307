"""What-if spec validation: positioned problems that name the field, the value and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios.problems import ScenarioError
from simulator.whatif import load_whatif
from simulator.whatif.expected import library_specs
from simulator.whatif.loader import override, setting_path

from .helpers import base, load, write


def problems(path: Path) -> str:
    with pytest.raises(ScenarioError) as info:
        load_whatif(path)
    return str(info.value)


def test_library_specs_load_and_expand_their_sweeps() -> None:
    specs = library_specs()
    assert len(specs) >= 4
    for path in specs:
        file = load_whatif(path)
        assert file.spec.question.strip()
        points = file.points()
        assert len(points) == (len(file.spec.sweep.values) if file.spec.sweep else 1)


def test_a_valid_spec_parses_durations_with_units(tmp_path: Path) -> None:
    data = base(duration="2m", adapter={"contracts_interval": "500ms"})
    file = load(tmp_path, data)
    assert file.spec.duration == 120.0
    assert file.spec.adapter.contracts_interval == 0.5


def test_unknown_key_points_at_its_line_and_suggests(tmp_path: Path) -> None:
    data = base(adapter={"replica": 2})
    text = problems(write(tmp_path, data))
    assert "t.whatif.yaml:" in text and "adapter.replica" in text
    assert "did you mean 'replicas'" in text


def test_bad_duration_names_the_value_and_the_fix(tmp_path: Path) -> None:
    text = problems(write(tmp_path, base(duration="ten minutes")))
    assert "duration" in text and "'ten minutes'" in text and "2s" in text


def test_unknown_application_key_lists_the_known_ones(tmp_path: Path) -> None:
    data = base()
    data["traffic"]["clients"][0]["application"] = "tablet"
    path = write(tmp_path, data)
    text = problems(path)
    assert "traffic.clients[0].application" in text and "'tablet'" in text
    assert "known application keys: mobile, web" in text
    line = next(i for i, s in enumerate(path.read_text().splitlines(), 1) if "tablet" in s)
    assert f"t.whatif.yaml:{line}:" in text


def test_timeline_event_needs_exactly_one_action(tmp_path: Path) -> None:
    data = base(
        timeline=[
            {
                "at": 5,
                "revoke_contract": {"application": "mobile", "api": "orders"},
                "control_plane_outage": {"duration": 5},
            }
        ]
    )
    text = problems(write(tmp_path, data))
    assert "timeline[0]" in text and "exactly one action" in text


def test_timeline_must_name_an_existing_contract_and_fit_the_duration(tmp_path: Path) -> None:
    data = base(
        timeline=[
            {"at": 99, "revoke_contract": {"application": "mobile", "api": "orders"}},
            {"at": 1, "adapter_restart": {"replica": 3}},
        ]
    )
    text = problems(write(tmp_path, data))
    assert "not before the end" in text
    assert "replica 3 does not exist" in text


def test_sweep_values_are_validated_one_by_one(tmp_path: Path) -> None:
    data = base(sweep={"setting": "adapter.replicas", "values": [1, 0]})
    text = problems(write(tmp_path, data))
    assert "sweep.values[1]" in text and "adapter.replicas=0" in text


def test_sweep_setting_must_exist(tmp_path: Path) -> None:
    data = base(sweep={"setting": "traffic.clients.7.weight", "values": [1]})
    text = problems(write(tmp_path, data))
    assert "sweep.setting" in text and "does not name a setting" in text


def test_name_must_match_the_file(tmp_path: Path) -> None:
    text = problems(write(tmp_path, base(name="other"), name="t"))
    assert "file name stem 't'" in text


def test_not_yaml_and_not_a_mapping(tmp_path: Path) -> None:
    bad = tmp_path / "x.whatif.yaml"
    bad.write_text("name: [unclosed\n")
    assert "not valid YAML" in problems(bad)
    bad.write_text("- a\n- b\n")
    assert "expected a mapping" in problems(bad)


def test_override_paths() -> None:
    assert setting_path("traffic.clients[0].weight") == ["traffic", "clients", 0, "weight"]
    data = base()
    out = override(data, "traffic.clients.1.weight", 5)
    assert out["traffic"]["clients"][1]["weight"] == 5
    assert "weight" not in data["traffic"]["clients"][1]
    with pytest.raises(KeyError):
        override(data, "traffic.clients.9.weight", 1)
