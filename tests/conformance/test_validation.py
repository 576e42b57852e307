"""``asmkit validate``: schema errors and cross-references (unknown API, application, policy,
feature, variable) reported with file:line:column, the path, the value and a hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from asmkit.validate_command import run_validate
from conformance.validation import check_scenario_file
from live.profile import BUNDLED_PROFILE
from scenarios import LIBRARY, ScenarioError

SCENARIO = """\
name: refs
description: Cross-references are checked.
features: [client-id-enforcement]
control_plane:
  apis: [{key: orders}]
  applications: [{key: mobile}]
  contracts:
    - {application: mobile, api: orders}
steps:
  - request:
      api: ordrs
      headers: {client_id: "${applications.mobile.client_id}", x: "${applications.web.client_id}"}
  - control_plane:
      disable_policy: {policy: orders/cid}
  - request:
      api: orders
      headers: {secret: "${nothing.here}"}
"""


def test_every_cross_reference_problem_is_positioned(tmp_path: Path) -> None:
    path = tmp_path / "refs.scenario.yaml"
    path.write_text(SCENARIO)
    problems = [str(p) for p in check_scenario_file(path)]
    text = "\n".join(problems)
    assert f"{path}:11:7: steps[0].request.api: unknown API 'ordrs'" in text
    assert "seeded APIs: orders" in text
    assert "${applications.web.client_id}: no applications named 'web'; known: mobile" in text
    assert "${nothing.here}: unknown namespace 'nothing'" in text
    assert (
        f"{path}:14:7: steps[1].control_plane.disable_policy: this change cannot be made:"
        " no policy (api/key) named 'orders/cid'; known: none" in text
    )
    assert "${applications.mobile.client_id}" not in text  # a valid reference is not reported


def test_a_seed_reference_to_nothing_is_positioned(tmp_path: Path) -> None:
    path = tmp_path / "refs.scenario.yaml"
    path.write_text(
        SCENARIO.replace("{application: mobile, api: orders}", "{application: mobil, api: orders}")
    )
    with pytest.raises(ScenarioError) as info:
        check_scenario_file(path)
    assert (
        f"{path}:8:8: control_plane.contracts[0].application: 'mobil' is not a known"
        " application; known: mobile" in str(info.value)
    )


def test_an_unknown_feature_names_the_allowed_ones(tmp_path: Path) -> None:
    path = tmp_path / "refs.scenario.yaml"
    path.write_text(SCENARIO.replace("[client-id-enforcement]", "[client-id-enforcment, cors]"))
    with pytest.raises(ScenarioError) as info:
        check_scenario_file(path)
    text = str(info.value)
    assert f"{path}:3:12: features[0]: 'client-id-enforcment' is not allowed here" in text
    assert "(did you mean 'client-id-enforcement'?)" in text
    assert "allowed: client-id-enforcement, rate-limiting," in text


def test_command_reports_and_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "refs.scenario.yaml"
    path.write_text(SCENARIO)
    assert run_validate([path]) == 1
    out = capsys.readouterr().out
    assert "problem(s) in 1 file(s)" in out
    assert "Traceback" not in out


def test_library_and_profiles_are_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_validate([LIBRARY, BUNDLED_PROFILE.parent]) == 0
    assert "file(s) valid" in capsys.readouterr().out


def test_missing_path(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run_validate([tmp_path / "nope"]) == 1
    assert "no such file or folder" in capsys.readouterr().out


def test_whatif_specs_are_validated_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "bad.whatif.yaml"
    spec.write_text("name: bad\nquestion: q\nduration: forever\n")
    assert run_validate([tmp_path]) == 1
    assert f"{spec}:3:" in capsys.readouterr().out


EVENTUALLY = """\
name: nested
description: Problems inside an eventually block point at their own line.
features: [client-id-enforcement]
control_plane:
  apis: [{key: orders}]
steps:
  - eventually:
      within: 2s
      steps:
        - request:
            api: ordrs
            pathh: /orders
          expect: {status: [200, 0]}
"""


def test_problems_inside_eventually_steps_point_at_their_own_line(tmp_path: Path) -> None:
    path = tmp_path / "nested.scenario.yaml"
    path.write_text(EVENTUALLY)
    with pytest.raises(ScenarioError) as info:
        check_scenario_file(path)
    text = str(info.value)
    assert f"{path}:12:13: steps[0].eventually.steps[0].request.pathh: unknown key" in text
    assert f"{path}:13:34: steps[0].eventually.steps[0].expect.status[1]: Input should be" in text
    assert "constrained-int" not in text and "got None" not in text
    assert text.count("expect.status") == 1  # one complaint, not one per union member
    path.write_text(EVENTUALLY.replace("pathh", "path").replace("[200, 0]", "200"))
    problems = [str(p) for p in check_scenario_file(path)]
    assert any(
        p.startswith(f"{path}:11:13: steps[0].eventually.steps[0].request.api: unknown API")
        for p in problems
    ), problems


def test_unknown_faker_providers_and_generator_methods_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "refs.scenario.yaml"
    for provider, guess in (
        ("user_agnt", "user_agent"),
        ("seed_instance", None),
        ("__class__", None),
    ):
        path.write_text(SCENARIO.replace("${nothing.here}", f"${{faker.{provider}}}"))
        text = "\n".join(str(p) for p in check_scenario_file(path))
        assert f"Faker has no provider {provider!r}" in text, text
        if guess:
            assert f"did you mean {guess!r}" in text
    path.write_text(SCENARIO.replace("${nothing.here}", "${faker.user_agent}"))
    assert "Faker has no" not in "\n".join(str(p) for p in check_scenario_file(path))


def test_a_profile_command_must_name_a_program(tmp_path: Path) -> None:
    from live.profile import load_profile

    profile = tmp_path / "p.yaml"
    for command, message in (("[]", "at least 1 item"), ('[""]', "must name the program")):
        profile.write_text(
            "implementation: {organization: a, project: b, version: c}\n"
            f"adapter: {{command: {command}}}\n"
        )
        with pytest.raises(ScenarioError) as info:
            load_profile(profile)
        assert message in str(info.value), str(info.value)
