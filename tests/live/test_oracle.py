"""The live oracle: a deliberately stale adapter (its profile pins a one-hour contracts sync)
keeps letting a revoked client through; every such request after the documented lag is a wrong
decision beyond the lag, while the reference adapter with the spec's interval has none."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import yaml

from live.profile import BUNDLED_PROFILE, AdapterProfile, load_profile
from live.whatif.engine import run_live_once
from simulator.whatif import RunResult, replication_seed
from tests.simulator.whatif.helpers import spec

REVOKE_AT, INTERVAL, SLACK, RATE = 1.0, 0.3, 0.5, 100.0


def stale_profile(tmp_path: Path) -> AdapterProfile:
    data = yaml.safe_load(BUNDLED_PROFILE.read_text())
    data["adapter"]["settings"]["contracts_interval"] = 3600  # ignores {contracts_interval}
    path = tmp_path / "stale-adapter.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_profile(path)


def live(profile: AdapterProfile) -> RunResult:
    s = spec(
        duration=4.0,
        # a generous Envoy timeout: a busy machine must not turn checks into errors here
        adapter={"contracts_interval": INTERVAL, "policies_interval": 1.0, "check_timeout": 2.0},
        traffic={"arrival": {"process": "constant", "rate": RATE}},
        timeline=[{"at": REVOKE_AT, "revoke_contract": {"application": "mobile", "api": "orders"}}],
    )
    return asyncio.run(run_live_once(s, profile, replication_seed(s, 0, 0), lag_slack=SLACK))


def test_a_stale_adapter_is_caught_by_the_oracle(tmp_path: Path) -> None:
    caught = live(stale_profile(tmp_path))
    stale: dict[str, Any] = caught.metrics
    # the revoked client (half of 100 rps) is let through from 1 s to the end (4 s)
    assert abs(stale["wrongly_allowed"] - 150) <= 10
    # beyond the allowed lag (interval + slack): from 1.8 s to 4 s
    beyond = (4.0 - (REVOKE_AT + INTERVAL + SLACK)) * RATE / 2
    assert abs(stale["wrong_beyond_lag"] - beyond) <= 8
    assert stale["enforcement_lag_s"] is None  # never consistent within the run
    # the report says which decisions, when, and what was right
    (warning,) = [w for w in caught.warnings if "beyond the sync lag" in w]
    assert warning.startswith(f"{stale['wrong_beyond_lag']} wrong decisions beyond the sync lag")
    assert warning.count("got allowed 200, not denied 401") == 5, warning

    fresh: dict[str, Any] = live(load_profile(BUNDLED_PROFILE)).metrics
    assert fresh["wrong_beyond_lag"] == 0
    assert fresh["wrongly_allowed"] <= (INTERVAL + SLACK) * RATE / 2
