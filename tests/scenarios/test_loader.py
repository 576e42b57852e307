"""Scenario loading: valid files load, and every kind of mistake is reported with file:line:column,
the key path, the value and a hint, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from fake_anypoint import ExpireTokens
from scenarios import LIBRARY, SUFFIX, ScenarioError, load_scenario
from scenarios.steps import ControlPlaneStep, EventuallyStep, RequestStep

VALID = """\
name: sample
description: A sample scenario.
features: [client-id-enforcement]
control_plane:
  apis: [{key: orders}]
steps:
  - name: one request
    request: {api: orders, path: /x}
    expect: {status: 200}
  - eventually:
      within: 2s
      steps:
        - request: {api: orders}
          expect: {status: [200, 204]}
"""


def write(tmp_path: Path, text: str, name: str = "sample.scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str, name: str = "sample.scenario.yaml") -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, text, name))
    return str(info.value)


def test_valid_file_loads_with_step_lines(tmp_path: Path) -> None:
    source = load_scenario(write(tmp_path, VALID))
    assert source.scenario.name == "sample"
    assert isinstance(source.scenario.steps[0], RequestStep)
    assert isinstance(source.scenario.steps[1], EventuallyStep)
    assert source.scenario.steps[1].eventually.within == 2.0
    assert source.step_lines == [7, 10]
    assert source.step_location(1).endswith("sample.scenario.yaml:10")


def test_typo_in_key_names_line_key_and_allowed_keys(tmp_path: Path) -> None:
    text = problems(tmp_path, VALID.replace("path: /x", "pathh: /x"))
    assert "sample.scenario.yaml:8:" in text
    assert "steps[0].request.pathh: unknown key 'pathh' (did you mean 'path'?)" in text
    assert "allowed keys here: api, authority, method, path" in text


def test_top_level_typo(tmp_path: Path) -> None:
    text = problems(tmp_path, VALID.replace("features:", "featurez:"))
    assert ":3:1: featurez: unknown key 'featurez' (did you mean 'features'?)" in text
    assert "features: required key is missing" in text


def test_step_without_action_key(tmp_path: Path) -> None:
    text = problems(
        tmp_path, VALID.replace("    request: {api: orders, path: /x}", "    requst: {}")
    )
    assert "steps[0]: a step needs exactly one action key, got ['expect', 'name', 'requst']" in text
    assert "use one of: request, control_plane, wait, eventually, analytics" in text


def test_bad_value_names_value(tmp_path: Path) -> None:
    text = problems(tmp_path, VALID.replace("within: 2s", "within: two seconds"))
    assert "steps[1].eventually.within" in text
    assert "expected a duration such as 500ms, 2s or 1m" in text
    assert "'two seconds'" in text


def test_name_must_match_file_stem(tmp_path: Path) -> None:
    text = problems(tmp_path, VALID, name="other.scenario.yaml")
    assert "name: must equal the file name stem 'other', got 'sample'" in text


def test_not_yaml(tmp_path: Path) -> None:
    text = problems(tmp_path, "name: [unclosed\n")
    assert "sample.scenario.yaml:2:1: not valid YAML" in text


def test_empty_file(tmp_path: Path) -> None:
    text = problems(tmp_path, "")
    assert "expected a mapping at the top (name, description, features, ...), got nothing" in text


def test_yaml_anchors_work(tmp_path: Path) -> None:
    text = VALID.replace("request: {api: orders, path: /x}", "request: &r {api: orders, path: /x}")
    text = text.replace("        - request: {api: orders}", "        - request: *r")
    source = load_scenario(write(tmp_path, text))
    inner = source.scenario.steps[1]
    assert isinstance(inner, EventuallyStep)
    assert inner.eventually.steps[0].request.path == "/x"


def test_control_plane_change_needs_exactly_one(tmp_path: Path) -> None:
    text = VALID + "  - control_plane: {}\n"
    assert "give exactly one change (got 0)" in problems(tmp_path, text)
    both = VALID + "  - control_plane: {expire_tokens: {}, delete_api: {api: orders}}\n"
    assert "give exactly one change (got 2); one of: revoke_contract" in problems(tmp_path, both)
    assert "expire_tokens" in problems(tmp_path, both)


def test_expire_tokens_is_a_control_plane_step(tmp_path: Path) -> None:
    source = load_scenario(write(tmp_path, VALID + "  - control_plane: {expire_tokens: {}}\n"))
    step = source.scenario.steps[-1]
    assert isinstance(step, ControlPlaneStep)
    assert step.control_plane.kind == "expire_tokens"
    assert isinstance(step.control_plane.change, ExpireTokens)
    bad = VALID + "  - control_plane: {expire_tokens: {after: 1s}}\n"
    assert "expire_tokens.after" in problems(tmp_path, bad)


@pytest.mark.parametrize("path", sorted(LIBRARY.rglob(f"*{SUFFIX}")), ids=lambda p: p.stem)
def test_library_scenarios_load(path: Path) -> None:
    source = load_scenario(path)
    assert source.scenario.description.endswith(".")
    assert path.read_text().startswith("# yaml-language-server: $schema=")


RAW = VALID.replace(
    "features: [client-id-enforcement]",
    "features: [envoy-raw-headers, client-id-enforcement]\ndata_plane:\n  encode_raw_headers: true",
)


def test_raw_encodings_load_with_their_features(tmp_path: Path) -> None:
    assert load_scenario(write(tmp_path, RAW)).scenario.data_plane.encode_raw_headers
    text = VALID.replace(
        "features: [client-id-enforcement]",
        "features: [envoy-raw-body, json-threat-protection]\ntransports: [grpc]\n"
        "data_plane:\n  with_request_body: {max_request_bytes: 64, pack_as_bytes: true}",
    )
    body = load_scenario(write(tmp_path, text)).scenario.data_plane.with_request_body
    assert body is not None and body.pack_as_bytes


def test_raw_headers_without_their_feature(tmp_path: Path) -> None:
    text = problems(tmp_path, RAW.replace("envoy-raw-headers, ", ""))
    assert (
        "sample.scenario.yaml:5:3: data_plane.encode_raw_headers: true sends the headers as"
        " header_map, which only adapters claiming envoy-raw-headers read" in text
    )
    assert "hint: add envoy-raw-headers to features" in text


def test_raw_headers_feature_without_the_setting(tmp_path: Path) -> None:
    text = problems(tmp_path, RAW.replace("true", "false"))
    assert (
        "sample.scenario.yaml:3:1: features: envoy-raw-headers is declared but"
        " data_plane.encode_raw_headers is not true" in text
    )
    assert "hint: set data_plane.encode_raw_headers: true, or drop envoy-raw-headers" in text


def test_pack_as_bytes_needs_its_feature_and_grpc(tmp_path: Path) -> None:
    text = problems(
        tmp_path,
        VALID + "data_plane:\n  with_request_body: {max_request_bytes: 64, pack_as_bytes: true}\n",
    )
    assert (
        "sample.scenario.yaml:16:46: data_plane.with_request_body.pack_as_bytes: true sends the"
        " body as raw_body, which only adapters claiming envoy-raw-body read" in text
    )
    assert "hint: add envoy-raw-body to features" in text
    assert (
        "data_plane.with_request_body.pack_as_bytes: true has no effect in HTTP service mode"
        " (Envoy sends the body as it came), but the scenario applies to grpc/http" in text
    )
    assert "hint: add transports: [grpc]" in text


STATE_CACHE_CASE = """\
name: sample
description: A sample scenario.
features: [state-cache, client-id-enforcement]
control_plane:
  apis: [{key: orders}]
steps:
  - adapters: stop
  - state_dir: foreign
  - adapters: start
"""


def test_state_dir_between_stop_and_start_in_a_state_cache_case_loads(tmp_path: Path) -> None:
    load_scenario(write(tmp_path, STATE_CACHE_CASE))


def test_state_dir_needs_the_state_cache_feature(tmp_path: Path) -> None:
    text = problems(tmp_path, STATE_CACHE_CASE.replace("state-cache, ", ""))
    assert "sample.scenario.yaml:8:5:" in text
    assert "steps[1].state_dir: foreign needs a state directory" in text
    assert "hint: add state-cache to features" in text


def test_state_dir_while_the_adapters_run(tmp_path: Path) -> None:
    text = problems(tmp_path, STATE_CACHE_CASE.replace("  - adapters: stop\n", ""))
    assert "steps[0].state_dir: foreign while the adapters may be running" in text
    assert "hint: put `adapters: stop` (or `kill`) before this step" in text
    after_start = STATE_CACHE_CASE + "  - state_dir: removed\n"
    assert "steps[3].state_dir: removed while the adapters" in problems(tmp_path, after_start)


def test_state_dir_after_a_kill_loads(tmp_path: Path) -> None:
    load_scenario(write(tmp_path, STATE_CACHE_CASE.replace("adapters: stop", "adapters: kill")))


PORT_TAKEN_CASE = """\
name: sample
description: A sample scenario.
features: [robustness]
control_plane:
  apis: [{key: orders}]
steps:
  - adapters: stop
  - adapters: start
    port_taken: ext_authz
  - state_dir: removed
  - adapters: start
"""


def test_a_start_with_a_port_taken_needs_the_adapters_stopped(tmp_path: Path) -> None:
    loaded = load_scenario(write(tmp_path, PORT_TAKEN_CASE.replace("  - state_dir: removed\n", "")))
    assert loaded.scenario.ports_taken == {"ext_authz"}
    text = problems(tmp_path, PORT_TAKEN_CASE.replace("  - adapters: stop\n", ""))
    assert "steps[0].port_taken: a start with a port taken while the adapters" in text
    assert "hint: put `adapters: stop` (or `kill`) before this step" in text
    # the failed start leaves them stopped: the state_dir after it is refused only for its feature
    assert "while the adapters may be running" not in problems(tmp_path, PORT_TAKEN_CASE)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("  - adapters: stop\n", "  - adapters: stop\n    port_taken: metrics\n"), "give it with"),
        (("port_taken: ext_authz", "port_taken: metrics"), "add analytics-loss-reporting"),
    ],
)
def test_port_taken_is_refused_where_it_means_nothing(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    text = problems(
        tmp_path, PORT_TAKEN_CASE.replace(*change).replace("  - state_dir: removed\n", "")
    )
    assert message in text


def test_a_regex_that_does_not_compile_is_a_load_error(tmp_path: Path) -> None:
    header = VALID.replace("expect: {status: 200}", "expect: {headers: {x-a: {regex: 'a('}}}")
    text = problems(tmp_path, header)
    assert "sample.scenario.yaml:" in text and "regex 'a(' does not compile" in text
    event = VALID.replace(
        "  - name: one request\n",
        "  - analytics: {within: 1s, events: [{count: 1, where: {user_agent: {regex: '[z'}}}]}\n"
        "  - name: one request\n",
    )
    assert "regex '[z' does not compile" in problems(tmp_path, event)
    mixed = event.replace("{regex: '[z'}", "{regex: 'a', other: 1}")
    assert "a field matcher is {regex: '...'}" in problems(tmp_path, mixed)
