"""A short live run of each library what-if (its first sweep point, times and rates scaled
down to a few seconds) against the bundled reference adapter: the live run sends exactly the
requests of the virtual replication with the same seed, the oracle finds no wrong decision
beyond the documented sync lag, and each spec's answer shows up live too."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from live.profile import BUNDLED_PROFILE, load_profile
from live.whatif.runner import LiveWhatIf, run_live
from simulator.whatif import load_whatif, replication_seed, run_once
from simulator.whatif.expected import LIBRARY

SCALES = {
    # spec: (time scale, rate scale) for a ~5 s run at 100-200 requests per second
    "contract-revocation": (0.05, 0.1),
    "analytics-ingest-outage": (0.003, 1.0),
    "replica-quota": (0.15, 0.1),
    "check-latency-utilisation": (0.5, 0.1),
    "adapter-restart": (0.1, 0.2),
}


def live(name: str) -> LiveWhatIf:
    file = load_whatif(LIBRARY / f"{name}.whatif.yaml")
    time_scale, rate_scale = SCALES[name]
    return asyncio.run(
        run_live(
            file,
            load_profile(BUNDLED_PROFILE),
            adapter_name="reference-adapter",
            replications=1,
            time_scale=time_scale,
            rate_scale=rate_scale,
            virtual_replications=3,
            only={0},
        )
    )


def test_every_library_spec_has_a_scale() -> None:
    assert sorted(SCALES) == sorted(
        p.name.removesuffix(".whatif.yaml") for p in LIBRARY.glob("*.whatif.yaml")
    )


@pytest.mark.parametrize("name", sorted(SCALES))
def test_library_whatif_runs_live(name: str) -> None:
    run = live(name)
    (point,) = run.points
    result = point.runs[0]
    m: dict[str, Any] = result.metrics
    same: dict[str, Any] = run_once(point.spec, replication_seed(point.spec, 0, 0)).metrics
    assert m["requests"] == same["requests"] > 300
    assert m["wrong_beyond_lag"] == 0, result.windows
    # one event per request at most (none invented, none counted twice)
    assert m["analytics_delivered"] + m["analytics_in_buffer_end"] <= m["requests"]
    assert not result.warnings
    assert point.comparison and point.comparison[0]["metric"] == "requests"
    if name == "contract-revocation":
        # the revoked client gets through until the next contracts sync (possibly none at all
        # when it came right after the revocation), never longer
        lag = m["enforcement_lag_s"]
        assert lag is not None and lag <= point.spec.adapter.contracts_interval + 1.0
        rate = point.spec.traffic.arrival.rate
        assert m["wrongly_allowed"] <= (point.spec.adapter.contracts_interval + 1.0) * rate
    elif name == "analytics-ingest-outage":
        assert m["analytics_dropped"] > 0 and m["sync_failures"] > 0
    elif name == "replica-quota":
        assert m["quota_overshoot_max"] > 0  # per-replica quotas on two replicas
    elif name == "adapter-restart":
        assert m["errors"] > 0
    else:  # nothing changes: only checks slower than Envoy's timeout fail, and how many
        # depends on how busy the machine is (live what-ifs measure that), so no bound here
        assert m["wrongly_denied"] == m["errors"] < m["requests"]
