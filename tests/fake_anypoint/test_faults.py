"""Faults by the data they withhold: every endpoint serving that data is hit, public and
kit-specific; status, first-N, windows, latency, drops, malformed bodies, lost responses."""

from __future__ import annotations

import asyncio
import copy
import random
import time

import pytest
from pydantic import ValidationError

from fake_anypoint import DataKind, FaultSpec
from fake_anypoint.faults import FaultAction, anchor, pick_fault, swap_shape

from .conftest import SEED, client, new_state


def ccs(state, tail: str = "") -> str:
    return f"/apigateway/ccs/v3/organizations/{state.org_id}/environments/{state.env_id}{tail}"


def test_status_fault_first_n_then_recovers_and_is_journaled():
    state, _ = new_state()
    r = state.seed(copy.deepcopy(SEED))
    state.add_fault(FaultSpec(data=["policies"], status=503, first_n=2))
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
    faults = [(e.status, e.fault) for e in state.journal("policies")]
    assert faults == [(503, "policies-status-503")] * 2 + [(200, None)]


def test_outage_window_follows_the_state_clock():
    state, clock = new_state()
    state.add_fault(FaultSpec(data=["*"], status=502, after=10, lasting=10, name="outage"))

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


def test_token_fault_hits_the_token_endpoint():
    state, _ = new_state()

    async def main() -> None:
        async with client(state) as (server, s):
            state.add_fault(FaultSpec(data=["token"], status=500))
            async with s.post(server.base_url + "/accounts/api/v2/oauth2/token", json={}) as resp:
                assert resp.status == 500

    asyncio.run(main())
    assert state.journal()[-1].fault == "token-status-500"


def test_dropped_connection_and_malformed_body():
    state, _ = new_state()
    state.seed(copy.deepcopy(SEED))

    async def main() -> None:
        async with client(state) as (server, s):
            url = server.base_url + ccs(state, "/apis")
            state.add_fault(FaultSpec(data=["apis"], drop=True, first_n=1))
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
            state.add_fault(FaultSpec(data=["apis"], malformed=True, first_n=1))
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
    state.add_fault(FaultSpec(data=["apis"], latency=0.2, first_n=1, name="slow"))

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
        spec = FaultSpec(data=["contracts"], latency=0.01, jitter=0.5, probability=0.5)
        faults = [anchor(spec, 0.0)]
        rng = random.Random(seed)
        served = frozenset({DataKind.CONTRACTS})
        return [pick_fault(faults, served, 0.0, rng) for _ in range(20)]

    a, b = run(1), run(1)
    assert a == b
    fired = [x for x in a if x is not None]
    assert 0 < len(fired) < 20
    assert all(0.01 <= x.delay_s <= 0.51 for x in fired)
    everything = [anchor(FaultSpec(data=["*"], status=500), 0.0)]
    assert pick_fault(everything, frozenset(), 0.0, random.Random(0)) is None  # the admin API


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"data": "nope"}, "data.0"),
        ({"data": "apis", "status": 99}, "status"),
        ({"data": "apis", "status": 503, "first_n": 0}, "first_n"),
        ({"data": "apis", "status": 503, "lasting": 0}, "lasting must be more than 0s"),
        ({"data": "apis", "status": 503, "probability": 0}, "probability"),
        ({"data": "apis", "status": 503, "probability": float("nan")}, "probability"),
        ({"data": "apis", "latency": float("inf")}, "latency"),
        ({"data": "apis", "latency": "1e308s"}, "latency"),
        ({"data": "apis", "group": "x", "status": 503}, "group"),
        ({"data": "apis"}, "say what the fault does"),
        ({"status": 500}, "data"),
    ],
)
def test_bad_faults_are_rejected(data, message):
    with pytest.raises(ValidationError) as info:
        FaultSpec.model_validate(data)
    assert message in str(info.value)


def test_fault_names_default_to_data_and_effect():
    assert FaultSpec(data=["apis"], status=503).label == "apis-status-503"
    assert FaultSpec(data=["contracts"], latency=1).label == "contracts-latency"
    assert FaultSpec(data=["ingest"], drop=True).label == "ingest-drop"
    assert FaultSpec(data=["*"], status=503).label == "all-status-503"
    assert FaultSpec(data="policies", status=503).data == [DataKind.POLICIES]


def test_lost_response_keeps_the_effect_and_a_retry_counts_as_duplicate():
    import gzip
    import json

    state, _ = new_state()
    state.add_fault(FaultSpec(data=["ingest"], status=503, lose_response=True, first_n=1))
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
    assert state.journal()[-2].fault == "ingest-lost-response-503"


def test_lost_response_needs_a_replacement():
    with pytest.raises(ValidationError, match="lose_response needs status or drop"):
        FaultSpec(data=["ingest"], lose_response=True)


def am(state, tail: str = "") -> str:
    return f"/apimanager/api/v1/organizations/{state.org_id}/environments/{state.env_id}{tail}"


def apps(state, tail: str = "") -> str:
    return f"/apiplatform/repository/v2/organizations/{state.org_id}/applications{tail}"


@pytest.mark.parametrize(
    ("kind", "hit", "spared"),
    [
        ("policies", ["ccs:/apis/{api}/policies", "am:/apis/{api}/policies"], ["am:/apis/{api}"]),
        (
            "contracts",
            ["ccs:/apis/{api}/contracts", "am:/apis/{api}/contracts"],
            ["am:/apis/{api}/policies", "apps:"],
        ),
        ("apis", ["ccs:/apis", "am:/apis", "am:/apis/{api}"], ["am:/apis/{api}/contracts"]),
        ("applications", ["apps:", "apps:/{app}", "ccs:/apis/{api}/contracts"], ["am:/apis"]),
        ("tiers", ["am:/apis/{api}/tiers", "ccs:/apis/{api}/contracts"], ["apps:"]),
    ],
)
def test_a_fault_hits_every_endpoint_serving_its_data(kind, hit, spared):
    """Public API Manager v1 and /apiplatform endpoints are hit like the kit's sync API."""
    state, _ = new_state()
    seeded = state.seed(copy.deepcopy(SEED))
    api, app = seeded.apis["orders"], seeded.applications["mobile"].id
    state.add_fault(FaultSpec(data=[kind], status=503))
    bases = {"ccs": ccs, "am": am, "apps": apps}

    def url(ref: str) -> str:
        base, _, tail = ref.partition(":")
        return bases[base](state, tail.format(api=api, app=app))

    async def main() -> dict[str, int]:
        async with client(state) as (server, s):
            out = {}
            for ref in hit + spared:
                async with s.get(server.base_url + url(ref)) as resp:
                    out[ref] = resp.status
            return out

    statuses = asyncio.run(main())
    assert {ref: statuses[ref] for ref in hit} == dict.fromkeys(hit, 503)
    assert all(statuses[ref] == 200 for ref in spared), statuses
    assert state.faults()[0].fired == len(hit)


def test_a_fault_at_start_lasts_from_the_adapters_first_request():
    """In place before a slow adapter starts, a fault lasts from the adapter's first request
    for its data, however long the adapter took to start."""
    fault = anchor(FaultSpec(data=["policies"], status=503, lasting=1.5), now=10.0)
    fault.at_start(10.0)
    assert fault.active(13.9)  # the adapter took 4s to ask
    action = pick_fault([fault], frozenset({DataKind.POLICIES}), 14.0, random.Random(0))
    assert action is not None and fault.end == 15.5
    assert fault.active(15.4) and not fault.active(15.5)
    later = anchor(FaultSpec(data=["policies"], status=503, after=1, lasting=1), now=10.0)
    later.at_start(14.0)  # up at 14s: the window is 15s-16s
    assert (later.start, later.end) == (15.0, 16.0)


def test_swap_shape_swaps_arrays_and_objects_one_level_down():
    assert swap_shape({"data": [{"a": 1}], "links": {"next": "x"}, "cursor": "3"}) == {
        "data": {"0": {"a": 1}},
        "links": ["x"],
        "cursor": "3",
    }
    assert swap_shape([{"id": 1}, {"id": 2}]) == {"0": {"id": 1}, "1": {"id": 2}}
    assert swap_shape("text") == "text"


def test_wrong_shape_fault_serves_the_real_answer_misshapen_on_public_and_kit_endpoints():
    state, _ = new_state()
    r = state.seed(copy.deepcopy(SEED))
    orders = r.apis["orders"]
    public = (
        f"/apimanager/api/v1/organizations/{state.org_id}/environments/{state.env_id}"
        f"/apis/{orders}/policies"
    )

    async def main() -> None:
        async with client(state) as (server, s):
            async with s.get(server.base_url + ccs(state, f"/apis/{orders}/policies")) as resp:
                good = await resp.json()
            state.add_fault(FaultSpec(data=["policies"], wrong_shape=True))
            async with s.get(server.base_url + ccs(state, f"/apis/{orders}/policies")) as resp:
                assert resp.status == 200
                assert await resp.json() == swap_shape(good)
                assert isinstance((await resp.json())["policies"], dict)
            async with s.get(server.base_url + public) as resp:
                assert resp.status == 200
                assert not isinstance((await resp.json())["policies"], list)
            # other data is served as it is
            async with s.get(server.base_url + ccs(state, "/apis")) as resp:
                assert isinstance((await resp.json())["data"], list)

    asyncio.run(main())
    assert [e.fault for e in state.journal("policies")][-2:] == ["policies-wrong-shape"] * 2


def test_a_fault_must_say_what_it_does():
    with pytest.raises(ValidationError, match="wrong_shape: true"):
        FaultSpec(data=["apis"])


def test_a_3xx_fault_redirects_to_a_path_nothing_serves():
    """A redirect, as a misconfigured proxy answers: the Location leads to a 404."""
    from fake_anypoint.httpkit import REDIRECTED_TO

    state, _ = new_state()
    r = state.seed(copy.deepcopy(SEED))
    state.add_fault(FaultSpec(data=["policies"], status=302, first_n=1))
    url_tail = ccs(state, f"/apis/{r.apis['orders']}/policies")

    async def main() -> tuple[int, str, int]:
        async with client(state) as (server, s):
            async with s.get(server.base_url + url_tail, allow_redirects=False) as resp:
                status, location = resp.status, resp.headers.get("Location", "")
            async with s.get(server.base_url + location) as followed:
                return status, location, followed.status

    assert asyncio.run(main()) == (302, REDIRECTED_TO, 404)


def test_a_2xx_fault_serves_the_request_and_answers_another_success():
    """An ingest answering 200 where the fake answers 202: the batch is recorded, the real
    body sent with the other status; only a success is changed (a 401 stays a 401)."""
    import gzip
    import json

    state, _ = new_state()
    r = state.seed(copy.deepcopy(SEED))
    state.add_fault(FaultSpec(data=["ingest"], status=200))
    state.add_fault(FaultSpec(data=["policies"], status=200))
    body = gzip.compress(json.dumps([{"event_id": "e1"}]).encode())
    headers = {
        "Content-Encoding": "gzip",
        "Content-Type": "application/json",
        "X-Batch-Id": "11111111-2222-3333-4444-555555555555",
    }

    async def main() -> tuple[int, dict[str, object], int]:
        async with client(state) as (server, s):
            url = server.ingest_url + "/v2/analytics/events"
            async with s.post(url, data=body, headers=headers) as resp:
                answer = resp.status, await resp.json()
            policies = server.base_url + ccs(state, f"/apis/{r.apis['orders']}/policies")
            async with s.get(policies, headers={"Authorization": "Bearer forged"}) as refused:
                return answer[0], answer[1], refused.status

    status, answer, refused = asyncio.run(main())
    assert (status, answer) == (200, {"accepted": 1, "duplicate": False})
    assert [e["event_id"] for e in state.analytics_batches()[0].events] == ["e1"]
    assert refused == 401
    assert state.journal("ingest")[-1].fault == "ingest-status-200"


@pytest.mark.parametrize("effect", [{"drop": True}, {"malformed": True}, {"lose_response": True}])
def test_a_2xx_fault_only_changes_the_status(effect):
    with pytest.raises(ValidationError, match="status 200 is a success"):
        FaultSpec.model_validate({"data": "ingest", "status": 200, **effect})
