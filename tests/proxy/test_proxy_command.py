"""``asmkit proxy run`` puts a command behind the proxy (no cooperation needed), records it and
applies faults from a file; ``asmkit proxy learn`` reports the endpoints it used."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from asmkit.proxy_command import load_faults
from common.clock import MonotonicClock
from fake_anypoint import ControlPlaneServer, ControlPlaneState
from tests.conftest import require_tool
from tests.proxy.helpers import require_mitm, require_netns, run

ASMKIT = [sys.executable, "-c", "import sys; from asmkit.cli import main; sys.exit(main())"]


def test_run_records_a_command_in_a_namespace_and_learn_reports_it(tmp_path: Path) -> None:
    require_netns()
    require_mitm()
    curl = require_tool("curl", "apt-get install curl")
    faults = tmp_path / "faults.yaml"
    faults.write_text("- {kind: latency, latency: 50ms, path: '/accounts/*'}\n")
    cassette = tmp_path / "out.cassette.json"

    async def main() -> tuple[int, str, str]:
        state = ControlPlaneState(MonotonicClock())
        app = state.connected_app
        async with ControlPlaneServer(state) as server:
            token = json.dumps(
                {
                    "client_id": app.client_id,
                    "client_secret": app.client_secret,
                    "grant_type": "client_credentials",
                }
            )
            urls = ["--control-plane", server.base_url, "--ingest", server.ingest_url]
            files = ["--ca-dir", str(tmp_path / "ca"), "--record", str(cassette)]
            curl_args = ["-sS", "--fail", "--cacert", str(tmp_path / "ca" / "ca.pem")]
            curl_args += ["-H", "content-type: application/json", "-d", token]
            return await run(
                *ASMKIT, "proxy", "run", *urls, *files, "--faults", str(faults), "--",
                curl, *curl_args, "https://anypoint.mulesoft.com/accounts/api/v2/oauth2/token",
                env={**os.environ},
            )  # fmt: skip

    code, out, err = asyncio.run(main())
    assert code == 0, err
    assert '"access_token"' in out and "1 exchanges ->" in out
    assert (
        "fault latency on *: anypoint.mulesoft.com POST /accounts/api/v2/oauth2/token delayed 50ms"
        in out
    )
    recorded = cassette.read_text()
    answer = next(line for line in out.splitlines() if '"access_token"' in line)
    token = json.loads(answer[: answer.rindex("}") + 1])["access_token"]
    assert "<redacted>" in recorded and token not in recorded

    code, out, _ = asyncio.run(run(*ASMKIT, "proxy", "learn", str(cassette)))
    assert code == 0
    assert "1  platform POST   /accounts/api/v2/oauth2/token  [200x1]" in out
    assert "the fake does not implement: 0" in out


def test_bad_input_gets_a_clear_message(tmp_path: Path) -> None:
    bad = tmp_path / "faults.yaml"
    bad.write_text("- {kind: bandwidth}\n")
    try:
        load_faults(bad)
    except ValueError as exc:
        assert f"{bad}: 0: Value error, a bandwidth fault needs bytes_per_second" in str(exc)
    else:
        raise AssertionError("a bandwidth fault without a rate was accepted")
    code, _, err = asyncio.run(run(*ASMKIT, "proxy", "run", "--real", "--redirect", "netns"))
    assert code == 2 and "needs a COMMAND" in err
    code, _, err = asyncio.run(run(*ASMKIT, "proxy", "learn", str(tmp_path / "missing.json")))
    assert code == 2 and "cannot read cassette" in err
