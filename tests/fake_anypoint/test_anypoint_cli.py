"""Real-client proof: ``anypoint-cli-v4`` (npm) against the HTTPS fake.

Installs the CLI into build/node when absent (``npm install --ignore-scripts``). Each test run
gets a fresh HOME/XDG_CONFIG_HOME (the CLI caches tokens there) and trusts the kit's test CA
through NODE_EXTRA_CA_CERTS.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from fake_anypoint import ControlPlaneServer, ControlPlaneState
from tests.conftest import require_tool

from .conftest import SEED, new_state, running

ROOT = Path(__file__).resolve().parents[2]
NODE_PREFIX = ROOT / "build" / "node"
CLI = NODE_PREFIX / "node_modules" / ".bin" / "anypoint-cli-v4"

pytestmark = pytest.mark.anypoint_cli


@pytest.fixture(scope="session")
def cli_bin() -> Path:
    if not CLI.exists():
        require_tool("node", "install node >= 18 to run the anypoint-cli-v4 tests")
        npm = require_tool("npm", "install node >= 18 (with npm) to run the anypoint-cli-v4 tests")
        NODE_PREFIX.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [
                npm,
                "install",
                "--ignore-scripts",
                "--prefix",
                str(NODE_PREFIX),
                "anypoint-cli-v4@1.6.12",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0 or not CLI.exists():
            pytest.fail(f"npm install anypoint-cli-v4 failed:\n{done.stderr[-2000:]}")
    return CLI


class Cli:
    def __init__(
        self, binary: Path, server: ControlPlaneServer, state: ControlPlaneState, home: Path
    ) -> None:
        assert server.ca_path is not None
        self.binary = binary
        self.host = server.base_url.removeprefix("https://")
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "NODE_EXTRA_CA_CERTS": str(server.ca_path),
            "ANYPOINT_CLIENT_ID": state.connected_app.client_id,
            "ANYPOINT_CLIENT_SECRET": state.connected_app.client_secret,
            "ANYPOINT_HOST": self.host,
            "COLLECT_METRICS": "false",
        }

    async def run(self, *args: str, ok: bool = True) -> str:
        proc = await asyncio.create_subprocess_exec(
            str(self.binary),
            *args,
            "--host",
            self.host,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        text = out.decode() + err.decode()
        if ok:
            assert proc.returncode == 0, f"{args}: exit {proc.returncode}\n{text}"
        return text

    async def json(self, *args: str) -> Any:
        return json.loads(await self.run(*args, "-o", "json"))


def test_cli_against_the_https_fake(cli_bin: Path, tmp_path: Path) -> None:
    state, _ = new_state()
    seeded = state.seed(copy.deepcopy(SEED))
    orders = seeded.apis["orders"]

    async def main() -> None:
        async with running(state, https=True, ca_dir=tmp_path / "ca") as server:
            cli = Cli(cli_bin, server, state, tmp_path / "home")
            envs = await cli.run("account", "environment", "list")
            assert "Sandbox" in envs and state.env_id in envs

            listed = await cli.json("api-mgr", "api", "list")
            assert {(a["id"], a["assetId"]) for a in listed} == {
                (orders, "orders"),
                (seeded.apis["billing"], "billing"),
            }

            described = await cli.json("api-mgr", "api", "describe", str(orders))
            assert described["id"] == orders and described["productVersion"] == "v1"
            missing = await cli.run("api-mgr", "api", "describe", "999", ok=False)
            assert 'API with ID "999" not found' in missing

            created = await cli.run(
                "api-mgr",
                "api",
                "manage",
                "payments",
                "2.0.0",
                "-f",
                "--apiInstanceLabel",
                "pay-mesh",
            )
            new_id = int(created.strip().rsplit(" ", 1)[1])
            assert state.api(new_id).asset_version == "2.0.0"
            assert state.api(new_id).instance_label == "pay-mesh"
            assert state.api(new_id).technology == "flexGateway"

            policies = await cli.run("api-mgr", "policy", "list", str(orders))
            assert "client-id-enforcement" in policies and "rate-limiting" in policies
            assert str(seeded.policies["orders/cid"]) in policies

            version_before = state.api(orders).policies_version
            applied = await cli.run(
                "api-mgr",
                "policy",
                "apply",
                str(orders),
                "jwt-validation",
                "--policyVersion",
                "1.3.1",
                "-c",
                json.dumps({"jwtOrigin": "httpBearerAuthenticationHeader"}),
            )
            pid = int(applied.strip().split('"')[1])
            policy = state.policy(orders, pid)
            assert (policy.asset_id, policy.asset_version) == ("jwt-validation", "1.3.1")
            assert policy.configuration == {"jwtOrigin": "httpBearerAuthenticationHeader"}
            assert state.api(orders).policies_version > version_before

            removed = await cli.run(
                "api-mgr", "policy", "remove", str(orders), str(seeded.policies["orders/cid"])
            )
            assert "removed" in removed
            assert [p.asset_id for p in state.policies_of(orders)] == [
                "rate-limiting",
                "jwt-validation",
            ]
            gone = await cli.run("api-mgr", "policy", "remove", str(orders), "1", ok=False)
            assert "not found" in gone

            contracts = await cli.json("api-mgr", "contract", "list", str(orders))
            rows = {(c["application"]["coreServicesId"], c["status"]) for c in contracts}
            assert rows == {
                ("mobile-id", "APPROVED"),
                (seeded.applications["web"].client_id, "PENDING"),
            }

            tiers = await cli.json("api-mgr", "tier", "list", str(orders))
            assert [t["name"] for t in tiers] == ["gold", "manual"]
            added = await cli.run(
                "api-mgr",
                "tier",
                "add",
                str(orders),
                "--name",
                "silver",
                "-l",
                "true,10,min",
                "-l",
                "false,100,hr",
                "-a",
            )
            tid = int(added.strip().split('"')[1])
            tier = state.tier(orders, tid)
            assert tier.name == "silver" and tier.auto_approve is True
            assert tier.limits == [
                {"maximumRequests": 10, "timePeriodInMilliseconds": 60000, "visible": True},
                {"maximumRequests": 100, "timePeriodInMilliseconds": 3600000, "visible": False},
            ]

            # operator actions an adapter must notice
            rl = seeded.policies["orders/rl"]
            await cli.run("api-mgr", "policy", "disable", str(orders), str(rl))
            assert state.policy(orders, rl).disabled is True
            await cli.run(
                "api-mgr", "policy", "order", str(orders), f"{pid},{rl}", "--commaSeparated"
            )
            assert [p.id for p in state.policies_of(orders)] == [pid, rl]
            await cli.run("api-mgr", "policy", "enable", str(orders), str(rl))
            assert state.policy(orders, rl).disabled is False

            # Mule 4 policy templates (Exchange Graph API) and their descriptions
            mule4 = await cli.json("api-mgr", "policy", "list", "-m")
            assert {"rate-limiting", "client-id-enforcement"} <= {p["Asset ID"] for p in mule4}
            described = await cli.run("api-mgr", "policy", "describe", "client-id-enforcement")
            assert "clientIdExpression" in described
            described = await cli.run(
                "api-mgr", "policy", "describe", "rate-limiting", "--policyVersion", "1.4.1"
            )
            assert "rateLimits" in described and "clusterizable" in described
            missing = await cli.run(
                "api-mgr", "policy", "describe", "nope", "--policyVersion", "1.0.0", ok=False
            )
            assert "not found" in missing

            cursor = int(state.sync_contracts(orders)["cursor"])
            await cli.run("api-mgr", "contract", "delete", str(orders), "mobile-id")
            feed = state.sync_contracts(orders, cursor)["data"]
            assert [(c["clientId"], c["removed"]) for c in feed] == [("mobile-id", True)]

    asyncio.run(main())
    kinds = {kind for e in state.journal() for kind in e.data}
    assert {"token", "accounts", "apis"} <= kinds
    assert all(e.status < 500 for e in state.journal())
