"""The Node.js example adapter (examples/node-adapter), written without any of the kit's code:
its hand-written wire definitions agree with Envoy's, its own unit tests pass, and scenarios
pass through its real command profile (node as a child process, the secret in its environment).

Installs its packages (``npm ci``) when absent; without node the tests skip, or fail when
ASMKIT_REQUIRE_ALL=1 (CI)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from envoy.config.core.v3 import address_pb2, base_pb2
from envoy.service.auth.v3 import attribute_context_pb2, external_auth_pb2
from envoy.type.v3 import http_status_pb2
from google.protobuf import descriptor, timestamp_pb2, wrappers_pb2
from google.rpc import status_pb2

from conformance.results import Outcome
from conformance.runner import run_scenario
from live.launch import render
from live.profile import AdapterProfile, load_profile
from scenarios import LIBRARY, load_scenario
from tests.conftest import require_tool
from tests.proxy.helpers import require_mitm, require_netns

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "node-adapter"
PROFILE = EXAMPLE / "profile.yaml"
PACKAGE = "envoy.service.auth.v3"


@pytest.fixture(scope="session")
def node() -> str:
    """The node binary, with the example's packages installed."""
    binary = require_tool("node", "install node >= 20.3 to test the Node.js example adapter")
    if not (EXAMPLE / "node_modules" / "@grpc" / "grpc-js").is_dir():
        npm = require_tool("npm", "install npm to test the Node.js example adapter")
        done = subprocess.run(
            [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=EXAMPLE,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(f"npm ci in {EXAMPLE} failed:\n{done.stderr[-2000:]}")
    return binary


def node_profile(node: str, path: Path = PROFILE) -> AdapterProfile:
    """The example's own profile, its relative paths made absolute (tests run from anywhere)."""
    profile = load_profile(path)
    command = [
        node if part == "node" else str(ROOT / part) if part.startswith("examples/") else part
        for part in profile.adapter.command or []
    ]
    return profile.model_copy(
        update={"adapter": profile.adapter.model_copy(update={"command": command})}
    )


# -- the adapter through its profile ------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "client_id_enforcement/approved-client-allowed",  # contracts + applications, analytics
        "rate_limiting/several-limits-all-required",  # fixed windows, limits ANDed
        "contract_sync/tier-change-applies",  # SLA tiers from the contracts
        "gatekeeper/strict-blocks-while-unreachable",  # {gatekeeper} passed, faults on every path
        "analytics/lost-response-not-duplicated",  # the X-Batch-Id reused on retry
        "envoy_raw_headers/client-id-from-header-map",  # header_map, repeated lines joined
    ],
)
def test_scenarios_pass_through_the_command_profile(node: str, name: str, tmp_path: Path) -> None:
    source = load_scenario(LIBRARY / f"{name}.scenario.yaml")
    result = asyncio.run(run_scenario(source, node_profile(node), log_dir=tmp_path))
    log = "\n".join(p.read_text() for p in tmp_path.glob("*.log"))
    failure = result.failure.render() if result.failure else result.error
    assert result.outcome == Outcome.PASSED, f"{failure}\nadapter log:\n{log}"


def test_behind_the_proxy_bad_certificates_are_shown_and_refused(node: str, tmp_path: Path) -> None:
    """Node.js resumes TLS 1.3 sessions: under a certificate fault the proxy refuses resumption,
    so the adapter is shown the wrong-host and the expired certificate and refuses them (before
    that fix it resumed a good session, and the proxy took the handshake for acceptance)."""
    require_netns()
    require_mitm()
    source = load_scenario(LIBRARY / "network_faults/bad-tls-refused.scenario.yaml")
    profile = node_profile(node, EXAMPLE / "profile-proxied.yaml")
    result = asyncio.run(run_scenario(source, profile, log_dir=tmp_path))
    failure = result.failure.render() if result.failure else result.error
    assert result.outcome == Outcome.PASSED, failure
    refused = [
        entry
        for entry in result.journal
        if "wrong_host_certificate" in str(entry) and "refused" in str(entry)
    ]
    assert refused, "the proxy recorded no refusal of the wrong-host certificate"


def test_the_profile_passes_the_secret_by_environment_only() -> None:
    profile = load_profile(PROFILE)
    variables: dict[str, Any] = {
        "control_plane_url": "http://127.0.0.1:1",
        "ingest_url": "http://127.0.0.1:2",
        "client_id": "app-id",
        "client_secret": "s3cr3t-sentinel",
        "org_id": "org",
        "env_id": "env",
        "grpc_port": 5000,
        "http_port": None,
        "metrics_port": 5001,
        "state_dir": None,
        # every adapter setting, as the kit fills them (so a new placeholder is covered too)
        **{name: "none" if value is None else value for name, value in profile.sync},
    }
    argv = " ".join(str(a) for a in render(profile.adapter.command, variables))
    env = render(profile.adapter.env, variables)
    assert "s3cr3t-sentinel" not in argv
    assert env["ANYPOINT_CLIENT_SECRET"] == "s3cr3t-sentinel"


def test_bad_settings_are_a_clear_error(node: str) -> None:
    env = {**os.environ, "ANYPOINT_CLIENT_SECRET": "x"}
    done = subprocess.run(
        [node, str(EXAMPLE / "src" / "main.js"), "--grpc-port=abc"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "--grpc-port: 'abc' is not a port number (1-65535)" in done.stderr
    assert "Traceback" not in done.stderr and "    at " not in done.stderr


def test_its_own_unit_tests_pass(node: str) -> None:
    done = subprocess.run(
        [node, "--test", "test/"],
        cwd=EXAMPLE,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


# -- its wire definitions -------------------------------------------------------------------------

ENVOY: dict[str, descriptor.Descriptor] = {
    "CheckRequest": external_auth_pb2.CheckRequest.DESCRIPTOR,
    "AttributeContext": attribute_context_pb2.AttributeContext.DESCRIPTOR,
    "AttributeContext.Peer": attribute_context_pb2.AttributeContext.Peer.DESCRIPTOR,
    "AttributeContext.Request": attribute_context_pb2.AttributeContext.Request.DESCRIPTOR,
    "AttributeContext.HttpRequest": attribute_context_pb2.AttributeContext.HttpRequest.DESCRIPTOR,
    "Address": address_pb2.Address.DESCRIPTOR,
    "SocketAddress": address_pb2.SocketAddress.DESCRIPTOR,
    "HeaderMap": base_pb2.HeaderMap.DESCRIPTOR,
    "HeaderValue": base_pb2.HeaderValue.DESCRIPTOR,
    "HeaderValueOption": base_pb2.HeaderValueOption.DESCRIPTOR,
    "BoolValue": wrappers_pb2.BoolValue.DESCRIPTOR,
    "Timestamp": timestamp_pb2.Timestamp.DESCRIPTOR,
    "CheckResponse": external_auth_pb2.CheckResponse.DESCRIPTOR,
    "RpcStatus": status_pb2.Status.DESCRIPTOR,
    "DeniedHttpResponse": external_auth_pb2.DeniedHttpResponse.DESCRIPTOR,
    "OkHttpResponse": external_auth_pb2.OkHttpResponse.DESCRIPTOR,
    "HttpStatus": http_status_pb2.HttpStatus.DESCRIPTOR,
}
"""Each message of the example's proto (names local to it) and the Envoy message it stands for."""

_FD = descriptor.FieldDescriptor
VARINT = {_FD.TYPE_INT32, _FD.TYPE_UINT32, _FD.TYPE_INT64, _FD.TYPE_BOOL, _FD.TYPE_ENUM}
_SCALAR = {
    "string": {_FD.TYPE_STRING},
    "bytes": {_FD.TYPE_BYTES},
    "int64": {_FD.TYPE_INT64},
    "bool": {_FD.TYPE_BOOL},
    "uint32": {_FD.TYPE_UINT32},
    "int32": {_FD.TYPE_INT32, _FD.TYPE_ENUM},  # an enum is an int32 varint on the wire
}

_DUMP = """
const protobuf = require('protobufjs');
const root = new protobuf.Root().loadSync(process.argv[1], {keepCase: true});
root.resolveAll();
const out = {messages: {}, services: {}};
(function walk(ns) {
  for (const obj of ns.nestedArray) {
    if (obj instanceof protobuf.Type) {
      out.messages[obj.fullName.slice(1)] = Object.fromEntries(obj.fieldsArray.map((f) => [f.name,
        {id: f.id, type: f.resolvedType ? f.resolvedType.fullName.slice(1) : f.type,
         repeated: f.repeated, keyType: f.map ? f.keyType : null}]));
    }
    if (obj instanceof protobuf.Service) {
      out.services[obj.fullName.slice(1)] = Object.fromEntries(obj.methodsArray.map((m) => [m.name,
        [m.resolvedRequestType.fullName.slice(1), m.resolvedResponseType.fullName.slice(1)]]));
    }
    if (obj.nestedArray) walk(obj);
  }
})(root);
console.log(JSON.stringify(out));
"""


def example_proto(node: str) -> dict[str, Any]:
    done = subprocess.run(
        [node, "-e", _DUMP, str(EXAMPLE / "proto" / "ext_authz.proto")],
        cwd=EXAMPLE,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    parsed: dict[str, Any] = json.loads(done.stdout)
    return parsed


def _field_problem(
    local: str, name: str, mine: dict[str, Any], theirs: descriptor.FieldDescriptor | None
) -> str | None:
    if theirs is None:
        return f"{local}.{name}: no field {mine['id']} in Envoy's message"
    if theirs.name != name:
        return f"{local}.{name}: Envoy's field {mine['id']} is {theirs.name}"
    kind: str = mine["type"]
    if mine["keyType"] is not None:  # a map<k, v> is a repeated *Entry message in Envoy's
        entry = theirs.message_type
        ok = entry is not None and entry.GetOptions().map_entry
        ok = ok and entry.fields_by_name["value"].type == _FD.TYPE_STRING
        return None if ok else f"{local}.{name}: Envoy's field is not a map<string, string>"
    if kind.startswith(PACKAGE + "."):
        wanted = ENVOY[kind.removeprefix(PACKAGE + ".")]
        if theirs.message_type is not wanted:
            return f"{local}.{name}: stands for {wanted.full_name}, Envoy has {theirs.message_type}"
    elif theirs.type not in _SCALAR[kind]:
        return f"{local}.{name}: {kind} does not match Envoy's wire type {theirs.type}"
    if bool(mine["repeated"]) != theirs.is_repeated:
        return f"{local}.{name}: repeated differs from Envoy's"
    return None


def test_the_hand_written_proto_is_wire_compatible_with_envoys(node: str) -> None:
    dumped = example_proto(node)
    problems: list[str] = []
    for full, fields in dumped["messages"].items():
        local = full.removeprefix(PACKAGE + ".")
        if local.endswith("Entry"):
            continue  # map entries
        envoy = ENVOY.get(local)
        if envoy is None:
            problems.append(f"{local}: not mapped to an Envoy message in this test")
            continue
        by_number = {f.number: f for f in envoy.fields}
        for name, mine in fields.items():
            problem = _field_problem(local, name, mine, by_number.get(mine["id"]))
            if problem:
                problems.append(problem)
    assert problems == []
    assert set(ENVOY) <= {m.removeprefix(PACKAGE + ".") for m in dumped["messages"]}
    check = dumped["services"][f"{PACKAGE}.Authorization"]["Check"]
    assert check == [f"{PACKAGE}.CheckRequest", f"{PACKAGE}.CheckResponse"]
    service = external_auth_pb2.DESCRIPTOR.services_by_name["Authorization"]
    assert service.full_name == f"{PACKAGE}.Authorization"
    assert service.methods_by_name["Check"].input_type.full_name == f"{PACKAGE}.CheckRequest"
