"""`asmkit serve adapter`: flags, profile settings, clear errors, and a real process that
stops cleanly on SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import respx

from reference_adapter.commands import CommandError, add_serve_parser, serve, settings_from_args

from .fake_platform import ENV, INGEST, ORG, PLATFORM
from .grpc_helpers import call_check, check_request
from .test_adapter import platform_with_api

REQUIRED = [
    "--platform-url", PLATFORM, "--ingest-url", INGEST, "--client-id", "c", "--client-secret", "s",
    "--org-id", ORG, "--env-id", ENV,
]  # fmt: skip


def parse(argv: list[str]) -> argparse.Namespace:
    root = argparse.ArgumentParser(prog="asmkit serve")
    sub = root.add_subparsers(dest="what")
    add_serve_parser(sub)
    return root.parse_args(["adapter", *argv])


def test_flags_become_settings():
    args = parse([*REQUIRED, "--http-port", "0", "--grpc-port", "none", "--gatekeeper", "strict",
                  "--policies-interval", "2.5", "--seed", "4"])  # fmt: skip
    settings = settings_from_args(args)
    assert settings.http_port == 0 and settings.grpc_port is None
    assert settings.gatekeeper == "strict" and settings.policies_interval == 2.5
    assert settings.seed == 4 and settings.contracts_interval == 15.0
    assert args.func is args.handler


def test_profile_settings_and_flag_override(tmp_path: Path):
    profile = tmp_path / "p.yaml"
    profile.write_text(
        "name: reference\nsettings:\n"
        f"  platform_url: {PLATFORM}\n  ingest_url: {INGEST}\n  client_id: c\n"
        f"  client_secret: s\n  org_id: {ORG}\n  env_id: {ENV}\n  contracts_interval: 1\n"
    )
    settings = settings_from_args(parse(["--profile", str(profile), "--org-id", "other"]))
    assert settings.contracts_interval == 1.0 and settings.org_id == "other"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("settings:\n  bogus: 1\n", "unknown settings bogus"),
        ("settings: [1]\n", "`settings:` mapping"),
        ("settings: {a: [\n", "not valid YAML"),
    ],
)
def test_bad_profiles(tmp_path: Path, text: str, fragment: str):
    profile = tmp_path / "p.yaml"
    profile.write_text(text)
    with pytest.raises(CommandError, match=fragment):
        settings_from_args(parse(["--profile", str(profile)]))


def test_missing_and_bad_values_name_the_flag():
    with pytest.raises(CommandError) as info:
        settings_from_args(parse(["--gatekeeper", "loose"]))
    message = str(info.value)
    assert "platform_url (flag --platform-url)" in message
    assert "gatekeeper (flag --gatekeeper)" in message
    with pytest.raises(CommandError, match="cannot read profile"):
        settings_from_args(parse(["--profile", "/nonexistent/p.yaml"]))


def test_serve_runs_until_stopped_and_flushes():
    fake = platform_with_api()

    async def go() -> int:
        with respx.mock(assert_all_called=False) as router:
            fake.install(router)
            settings = settings_from_args(parse([*REQUIRED, "--seed", "1",
                                                 "--analytics-interval", "60"]))  # fmt: skip
            stop = asyncio.Event()
            task = asyncio.create_task(serve(settings.model_copy(update={"grpc_port": 0}), stop))
            await asyncio.sleep(0.2)
            stop.set()
            return await task

    assert asyncio.run(go()) == 0


def test_process_stops_on_sigterm():
    """A real process: no control plane at all, so it answers 503 and cannot deliver the one
    analytics event; SIGTERM stops it within the flush timeout with exit code 3."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    argv = [
        sys.executable, "-m", "reference_adapter",
        "--platform-url", "http://127.0.0.1:9", "--ingest-url", "http://127.0.0.1:9",
        "--client-id", "c", "--client-secret", "s", "--org-id", "o", "--env-id", "e",
        "--stop-flush-timeout", "0.3", "--log-level", "ERROR",
    ]  # fmt: skip
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert "grpc_port=" in line, line
            port = int(line.split("grpc_port=")[1].split()[0])
            response = asyncio.run(call_check(port, check_request({"client_id": "a"})))
            assert response.denied_response.status.code == 503
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 3
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_settings_accept_templated_strings_and_none_words():
    from reference_adapter.settings import ReferenceAdapterConfig

    s = ReferenceAdapterConfig.model_validate({
        "platform_url": PLATFORM, "ingest_url": INGEST, "client_id": "c", "client_secret": "s",
        "org_id": ORG, "env_id": ENV, "grpc_port": "0", "http_port": "", "policies_interval": "1",
        "analytics_batch_size": "10", "redis_url": "none", "seed": "off",
    })  # fmt: skip
    assert (s.grpc_port, s.http_port, s.policies_interval, s.analytics_batch_size) == (
        0,
        None,
        1.0,
        10,
    )
    assert s.redis_url is None and s.seed is None


def test_asmkit_serve_adapter_is_wired(monkeypatch):
    from asmkit import cli

    seen: list[argparse.Namespace] = []
    monkeypatch.setattr("reference_adapter.commands.run_command", seen.append)
    cli.main(["serve", "adapter", *REQUIRED])
    assert settings_from_args(seen[0]).org_id == ORG
