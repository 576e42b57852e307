"""Faults per endpoint group: status, first-N, windows, latency, drops, malformed bodies."""

from __future__ import annotations

import asyncio
import copy
import random
import time

import pytest

from fake_anypoint import Fault
from fake_anypoint.faults import FaultAction, pick_fault

from .conftest import SEED, client, new_state


def ccs(state, tail: str = "") -> str:
    return f"/apigateway/ccs/v3/organizations/{state.org_id}/environments/{state.env_id}{tail}"


def test_status_fault_first_n_then_recovers_and_is_journaled():
    state, _ = new_state()
    r = state.seed(copy.deepcopy(SEED))
    state.add_fault(Fault(group="policies", status=503, first_n=2))
    url_tail = ccs(state, f"/apis/{r.apis['orders']}/policies")

    async def main() -> list[int]:
        async with client(state) as (server, s):
            statuses = []
            for _ in range(3):
                async with s.get(server.base_url + url_tail) as resp:
                    statuses.append(resp.status)
                    if resp.status == 503:
                        assert (
                            "injected fault policies-status-503" in (await resp.json())["message"]
                        )
            # other groups are not affected
            async with s.get(server.base_url + ccs(state, "/apis")) as resp:
                assert resp.status == 200
            return statuses

    assert asyncio.run(main()) == [503, 503, 200]
    faults = [(e.group, e.status, e.fault) for e in state.journal() if e.group == "policies"]
    assert faults == [("policies", 503, "policies-status-503")] * 2 + [("policies", 200, None)]


def test_outage_window_follows_the_state_clock():
    state, clock = new_state()
    state.add_fault(Fault(group="*", status=502, start=10, end=20, name="outage"))

    async def main() -> list[int]:
        async with client(state) as (server, s):
            url = server.base_url + ccs(state, "/apis")
            out = []
            for t in (5, 10, 19.9, 20):
                clock.set(t)
                async with s.get(url) as resp:
                    out.append(resp.status)
            return out

    assert asyncio.run(main()) == [200, 502, 502, 200]


def test_auth_fault_hits_the_token_endpoint():
    state, _ = new_state()

    async def main() -> None:
        async with client(state) as (server, s):
            state.add_fault(Fault(group="auth", status=500))
            async with s.post(server.base_url + "/accounts/api/v2/oauth2/token", json={}) as resp:
                assert resp.status == 500

    asyncio.run(main())
    assert state.journal()[-1].fault == "auth-status-500"


def test_dropped_connection_and_malformed_body():
    state, _ = new_state()
    state.seed(copy.deepcopy(SEED))

    async def main() -> None:
        async with client(state) as (server, s):
            url = server.base_url + ccs(state, "/apis")
            state.add_fault(Fault(group="apis", drop=True, first_n=1))
            # raw socket: an HTTP client might retry a dropped idempotent request by itself
            host, port = server.base_url.removeprefix("http://").split(":")
            reader, writer = await asyncio.open_connection(host, int(port))
            token = s.headers["Authorization"]
            path = ccs(state, "/apis")
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {token}\r\n\r\n".encode()
            )
            await writer.drain()
            assert await asyncio.wait_for(reader.read(), 5) == b""
            writer.close()
            state.clear_faults()
            state.add_fault(Fault(group="apis", malformed=True, first_n=1))
            async with s.get(url) as resp:
                assert resp.status == 200
                with pytest.raises(ValueError):
                    await resp.json()
            async with s.get(url) as resp:
                assert (await resp.json())["data"]

    asyncio.run(main())
    apis = state.journal("apis")
    assert [(e.status, e.fault) for e in apis] == [
        (0, "apis-drop"),
        (200, "apis-malformed"),
        (200, None),
    ]


def test_latency_fault_delays_then_serves():
    state, _ = new_state()
    state.add_fault(Fault(group="apis", latency_s=0.2, first_n=1, name="slow"))

    async def main() -> float:
        async with client(state) as (server, s):
            start = time.perf_counter()
            async with s.get(server.base_url + ccs(state, "/apis")) as resp:
                assert resp.status == 200
            return time.perf_counter() - start

    assert asyncio.run(main()) >= 0.19
    assert state.journal("apis")[0].fault == "slow"


def test_seeded_jitter_and_probability_are_reproducible():
    def run(seed: int) -> list[FaultAction | None]:
        faults = [Fault(group="contracts", latency_s=0.01, jitter_s=0.5, probability=0.5)]
        rng = random.Random(seed)
        return [pick_fault(faults, "contracts", 0.0, rng) for _ in range(20)]

    a, b = run(1), run(1)
    assert a == b
    fired = [x for x in a if x is not None]
    assert 0 < len(fired) < 20
    assert all(0.01 <= x.delay_s <= 0.51 for x in fired)
    assert pick_fault([Fault(group="*", status=500)], "admin", 0.0, random.Random(0)) is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"group": "nope"}, "fault.group: 'nope' is not a group"),
        ({"group": "apis", "status": 99}, "fault.status: 99"),
        ({"group": "apis", "first_n": 0}, "fault.first_n: 0"),
        ({"group": "apis", "start": 5, "end": 5}, "fault.end: 5"),
        ({"group": "apis", "probability": 0}, "fault.probability: 0"),
        ({"group": "apis", "latency": 1}, "fault.latency: unknown key"),
        ({"status": 500}, "fault.group: required"),
    ],
)
def test_bad_faults_are_rejected(data, message):
    with pytest.raises(ValueError) as info:
        Fault.from_dict(data)
    assert message in str(info.value)


def test_fault_name_defaults_even_when_given_as_none():
    assert Fault(group="apis", status=503, name=None).name == "apis-status-503"
    assert Fault(group="contracts", latency_s=1).name == "contracts-latency"
    assert Fault(group="analytics", drop=True).name == "analytics-drop"


def test_lost_response_keeps_the_effect_and_a_retry_counts_as_duplicate():
    import gzip
    import json

    state, _ = new_state()
    state.add_fault(Fault(group="analytics", status=503, lose_response=True, first_n=1))
    body = gzip.compress(json.dumps([{"event_id": "e1"}, {"event_id": "e2"}]).encode())
    headers = {
        "Content-Encoding": "gzip",
        "Content-Type": "application/json",
        "X-Batch-Id": "11111111-2222-3333-4444-555555555555",
    }

    async def main() -> list[int]:
        async with client(state) as (server, s):
            statuses = []
            for _ in range(2):
                async with s.post(
                    server.ingest_url + "/v2/analytics/events", data=body, headers=headers
                ) as resp:
                    statuses.append(resp.status)
            return statuses

    assert asyncio.run(main()) == [503, 202]
    [batch] = state.analytics_batches()
    assert [e["event_id"] for e in batch.events] == ["e1", "e2"]
    assert batch.duplicates == 1
    assert state.journal()[-2].fault == "analytics-lost-response-503"


def test_lost_response_needs_a_replacement():
    with pytest.raises(ValueError, match="lose_response: needs status or drop"):
        Fault(group="analytics", lose_response=True)
