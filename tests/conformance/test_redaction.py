"""No credential reaches a published output: client secrets, Authorization, cookie and API-key
values, tokens in query strings and policy passwords are redacted in the console, the YAML,
JUnit and HTML reports and the adapters' logs, with placeholders that still show whether two
values are equal; and the process profile never puts the secret on a command line (ps)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from common.clock import MonotonicClock
from common.redaction import Redactor
from fake_anypoint import ControlPlaneState
from scenarios import LIBRARY, load_scenario

from .test_interrupt import descendants

ROOT = Path(__file__).resolve().parents[2]
PROCESS_PROFILE = ROOT / "conformance" / "profiles" / "reference-adapter-process.yaml"

LEAKY = """\
name: leaky-secrets
description: A failing case whose request carries every kind of credential.
features: [client-id-enforcement]
control_plane:
  apis:
    - key: orders
      policies:
        - key: cid
          asset_id: client-id-enforcement
          configuration:
            credentialsOriginHasHttpBasicAuthenticationHeader: customExpression
            clientIdExpression: "#[attributes.headers['client_id']]"
            clientSecretExpression: "#[attributes.headers['client_secret']]"
        - key: basic
          asset_id: http-basic-authentication
          configuration: {username: alice, password: Wonderland-42}
  applications:
    - key: mobile
  contracts:
    - {application: mobile, api: orders}
steps:
  - name: leaks
    request:
      api: orders
      path: /orders?client_secret=${applications.mobile.client_secret}&access_token=tok-SECRET-1
      headers:
        client_id: ${applications.mobile.client_id}
        client_secret: ${applications.mobile.client_secret}
        authorization: "Basic YWxpY2U6V29uZGVybGFuZC00Mg=="
        cookie: "session=COOKIE-SECRET-9"
        x-api-key: APIKEY-SECRET-7
    expect:
      status: 299
      headers: {x-echo: "${applications.mobile.client_secret}"}
      upstream:
        received: true
        headers: {authorization: "Bearer WRONG-TOKEN-5", x-api-key: APIKEY-SECRET-7}
"""

SECRETS = [
    "tok-SECRET-1",
    "YWxpY2U6V29uZGVybGFuZC00Mg",
    "Wonderland-42",
    "COOKIE-SECRET-9",
    "APIKEY-SECRET-7",
    "WRONG-TOKEN-5",
]


def seeded(path: Path) -> ControlPlaneState:
    """The control plane a scenario runs against (ids and secrets come from its seed)."""
    scenario = load_scenario(path).scenario
    state = ControlPlaneState(clock=MonotonicClock(), seed=scenario.seed)
    state.seed(scenario.control_plane)
    return state


def test_no_credential_reaches_console_reports_or_logs(tmp_path: Path) -> None:
    folder = tmp_path / "scenarios"
    folder.mkdir()
    scenario = folder / "leaky-secrets.scenario.yaml"
    scenario.write_text(LEAKY)
    state = seeded(scenario)
    app_secret = next(iter(state.applications.values())).client_secret
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "asmkit.cli", "conformance", "--adapter", str(PROCESS_PROFILE),
         "--scenarios", str(folder), "--report-dir", str(out)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    console = result.stdout + result.stderr
    assert result.returncode == 1, console
    outputs = {
        "console": console,
        **{p.name: p.read_text() for p in out.rglob("*") if p.is_file()},
    }
    assert {"conformance-report.yaml", "junit.xml", "report.html"} <= set(outputs)
    assert any(n.startswith("leaky-secrets.") and n.endswith(".adapter.log") for n in outputs)
    for name, text in outputs.items():
        for secret in [*SECRETS, app_secret, state.connected_app.client_secret]:
            assert secret not in text, f"{secret!r} in {name}"
    report = outputs["conformance-report.yaml"]
    assert "<redacted:" in report and "<redacted:" in console
    # the query-string secret and the expected header are one value: one placeholder
    lines = report.splitlines()
    echo = next(i for i, line in enumerate(lines) if line.endswith("field: headers.x-echo"))
    query = report.split("client_secret=<redacted:")[1][:8]
    assert lines[echo + 1].endswith(f"expected: <redacted:{query}>"), lines[echo : echo + 3]
    # the wrong token expected upstream and the header sent differ: two placeholders
    assert "Bearer <redacted:" in report and "Basic <redacted:" in report


def test_placeholders_are_equal_for_equal_values_and_keyed_per_run() -> None:
    run = Redactor(b"one", ["a-long-secret-value"])
    same = run.text("x=a-long-secret-value") + run.data("a-long-secret-value", "password")
    assert same.count(run.placeholder("a-long-secret-value")) == 2
    assert run.placeholder("a") != run.placeholder("b")
    assert Redactor(b"two").placeholder("a") != run.placeholder("a")
    assert run.data({"headers": {"authorization": "Bearer abc.def"}}) == {
        "headers": {"authorization": f"Bearer {run.placeholder('abc.def')}"}
    }
    # names that only look like credentials are left alone
    text = "wrong-secret-rejected.scenario.yaml:22: step 'a wrong secret gets 401', 2 passed"
    assert run.text(text) == text
    assert run.data({"clientSecretExpression": "#[attributes.headers['client_secret']]"}) == {
        "clientSecretExpression": "#[attributes.headers['client_secret']]"
    }


def test_the_process_profile_keeps_the_secret_off_the_command_line(tmp_path: Path) -> None:
    """While the adapter runs, no process's command line holds the connected app's secret;
    the adapter gets it in its environment."""
    path = LIBRARY / "analytics" / "ingest-outage-loses-nothing.scenario.yaml"
    secret = seeded(path).connected_app.client_secret
    process = subprocess.Popen(
        [sys.executable, "-m", "asmkit.cli", "run", str(path), "--adapter", str(PROCESS_PROFILE)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    seen_in_env = False
    try:
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            for pid in {process.pid} | descendants(process.pid):  # only this test's processes
                proc = Path(f"/proc/{pid}")
                with contextlib.suppress(OSError):
                    cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
                    assert secret not in cmdline, cmdline.replace("\0", " ")
                    if "reference_adapter" in cmdline:
                        environ = (proc / "environ").read_bytes().decode(errors="replace")
                        seen_in_env |= secret in environ
            threading.Event().wait(0.05)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert secret not in output
    assert seen_in_env, "the adapter process was never seen with its secret in the environment"


@pytest.mark.parametrize("flag", ["--client-secret-file", "env"])
def test_reference_adapter_reads_its_secret_from_a_file_or_the_environment(
    flag: str, tmp_path: Path
) -> None:
    import argparse

    from reference_adapter.commands import add_serve_parser, settings_from_args

    parser = argparse.ArgumentParser()
    add_serve_parser(parser.add_subparsers())
    argv = ["adapter", "--platform-url", "http://127.0.0.1:1", "--ingest-url",
            "http://127.0.0.1:1", "--client-id", "c", "--org-id", "o", "--env-id", "e"]  # fmt: skip
    env = dict(os.environ)
    if flag == "env":
        os.environ["ANYPOINT_CLIENT_SECRET"] = "from-the-environment"
    else:
        secret = tmp_path / "secret"
        secret.write_text("from-the-file\n")
        argv += ["--client-secret-file", str(secret)]
    try:
        settings = settings_from_args(parser.parse_args(argv))
    finally:
        os.environ.clear()
        os.environ.update(env)
    expected = "from-the-environment" if flag == "env" else "from-the-file"
    assert settings.client_secret == expected
    assert expected not in repr(settings)
