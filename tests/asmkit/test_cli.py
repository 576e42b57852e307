"""Every ``asmkit`` subcommand through its real entry point: help, a real run where it is quick,
and the reproduce command of a conformance report, run as printed."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from asmkit.cli import build_parser, main
from asmkit.schemas import stale_schemas
from conformance.options import OPTIONS
from scenarios import LIBRARY

ROOT = LIBRARY.parent
SCENARIO = LIBRARY / "client_id_enforcement" / "unknown-client-rejected.scenario.yaml"


def asmkit(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "asmkit", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


def test_help_lists_every_command() -> None:
    out = asmkit("--help").stdout
    for command in (
        "conformance",
        "validate",
        "run",
        "serve",
        "whatif",
        "proxy",
        "bench",
        "schema",
    ):
        assert command in out
    assert asmkit("--version").stdout.startswith("asmkit ")


def test_conformance_options_are_the_plugins() -> None:
    """One definition: every plugin option --asm-X is asmkit conformance --X."""
    cli = asmkit("conformance", "--help").stdout
    plugin = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conformance.plugin", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    ).stdout
    for option in OPTIONS:
        assert f"--{option.flag}" in cli
        assert f"--asm-{option.flag}" in plugin


def test_a_reported_reproduce_command_reproduces(tmp_path: Path) -> None:
    """A failing case's reproduce command runs the same case with the same options."""
    broken = tmp_path / SCENARIO.name
    broken.write_text(SCENARIO.read_text().replace("      status: 401\n", "      status: 403\n", 1))
    first = asmkit(
        "conformance",
        "--scenarios",
        str(broken),
        "--report-dir",
        str(tmp_path / "first"),
        "--timeout-scale",
        "2",
        "--skip-tests",
        "nothing-at-all",
    )
    assert first.returncode == 1, first.stdout + first.stderr
    report = yaml.safe_load((tmp_path / "first" / "conformance-report.yaml").read_text())
    reproduce = report["cases"][0]["reproduce"]
    assert "--timeout-scale 2.0" in reproduce and "--skip-tests nothing-at-all" in reproduce
    argv = shlex.split(reproduce)
    assert argv[:2] == ["asmkit", "conformance"]
    argv[argv.index("--report-dir") + 1] = str(tmp_path / "again")
    again = asmkit(*argv[1:])
    assert again.returncode == 1
    report = yaml.safe_load((tmp_path / "again" / "conformance-report.yaml").read_text())
    [case] = report["cases"]
    assert case["name"] == "unknown-client-rejected" and case["outcome"] == "failed"
    assert case["failure"]["mismatches"][0]["actual"] == 401


def test_validate_and_run(tmp_path: Path) -> None:
    assert asmkit("validate", str(SCENARIO)).returncode == 0
    bad = tmp_path / "bad.scenario.yaml"
    bad.write_text("name: bad\n")
    result = asmkit("validate", str(bad), str(SCENARIO))
    assert result.returncode != 0 and f"{bad}:" in result.stdout + result.stderr
    run = asmkit("run", str(SCENARIO))
    assert run.returncode == 0, run.stdout
    assert "PASSED" in run.stdout and "unknown-client-rejected" in run.stdout


def test_serve_control_plane_answers_until_terminated() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "asmkit", "serve", "control-plane", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    ) as proc:
        _check_and_stop(proc)


def _check_and_stop(proc: subprocess.Popen[str]) -> None:
    try:
        assert proc.stdout is not None
        url = ""
        for _ in range(20):
            line = proc.stdout.readline()
            if "http://127.0.0.1:" in line:
                url = line[line.index("http://") :].split()[0].rstrip(",")
                break
        assert url, "the command prints where it listens"
        info = httpx.get(f"{url}/_admin/info", timeout=5).json()
        assert info["org_id"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) in (0, -signal.SIGTERM)


def test_serve_adapter_rejects_a_bad_setting_clearly() -> None:
    result = asmkit("serve", "adapter", "--policies-interval", "soon", "--platform-url", "x")
    assert result.returncode == 2
    assert "policies_interval" in result.stderr and "Traceback" not in result.stderr


def test_whatif_bench_and_schema_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert asmkit("whatif", "--help").returncode == 0
    assert main(["bench", "--list"]) == 0
    listed = capsys.readouterr().out
    assert "scenario-loading" in listed and "control-plane" in listed
    assert main(["schema"]) == 0
    assert stale_schemas() == []


def test_proxy_command(tmp_path: Path) -> None:
    """Help, and learn on a small cassette (run: tests/proxy/test_proxy_command.py, as root)."""
    assert "learn" in asmkit("proxy", "--help").stdout
    cassette = tmp_path / "one.cassette.json"
    interaction = {
        "at": 0,
        "host": "anypoint.mulesoft.com",
        "request": {"method": "GET", "path": "/somewhere/new"},
        "response": {"status": 200},
    }
    cassette.write_text(
        json.dumps(
            {
                "format": "asmkit-cassette/1",
                "recorded_at": "2026-01-01T00:00:00+00:00",
                "hosts": {"anypoint.mulesoft.com": "platform"},
                "redaction": {"algorithm": "hmac-sha256-shape/1", "salt": "s"},
                "interactions": [interaction],
            }
        )
    )
    result = asmkit("proxy", "learn", str(cassette))
    assert result.returncode == 0, result.stderr
    assert "! " in result.stdout and "the fake does not implement: 1" in result.stdout


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "commands" in capsys.readouterr().out
    assert build_parser().prog == "asmkit"


def test_the_reported_command_is_the_run_as_given() -> None:
    """The report's command line names how the run went (workers, fail-fast), not only the
    options that decide verdicts (a case's reproduce command leaves those out)."""
    from asmkit.conformance_command import command_line

    args = build_parser().parse_args(
        ["conformance", "--data-plane", "envoy", "-n", "2", "-x", "-k", "quota"]
    )
    command = command_line(args)
    assert command[:2] == ["asmkit", "conformance"]
    assert shlex.join(command).count("--data-plane envoy") == 1
    assert command[-5:] == ["-k", "quota", "-n", "2", "-x"]
