"""Serving a cassette: endpoints the fake lacks come from the recording; with scope ``reads`` the
recorded reads too, in recorded order and never ahead of their time; 304 for a matching ETag;
redacted values filled from the fake's own answer; pseudonyms mapped back; the learn report."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from common.clock import ManualClock
from fake_anypoint.cassette import CassetteError, load_cassette, parse_cassette
from fake_anypoint.learn import endpoint_uses, unimplemented
from fake_anypoint.replay import Replayer, fill_redacted, path_template
from tests.fake_anypoint.conftest import SEED, client, new_state

ORG = "7832fb92-a251-4365-8d38-3b2eaa8761da"


def _interaction(at: float, method: str, path: str, body: Any, **extra: Any) -> dict[str, Any]:
    return {
        "at": at,
        "host": extra.pop("host", "anypoint.mulesoft.com"),
        "request": {"method": method, "path": path, "query": extra.pop("query", [])},
        "response": {
            "status": extra.pop("status", 200),
            "headers": [["Content-Type", "application/json"], *extra.pop("headers", [])],
            "body": json.dumps(body),
        },
        **extra,
    }


def _cassette(*interactions: dict[str, Any]) -> dict[str, Any]:
    return {
        "format": "asmkit-cassette/1",
        "recorded_at": "2026-01-01T00:00:00+00:00",
        "hosts": {"anypoint.mulesoft.com": "platform", "ingest.example": "ingest"},
        "redaction": {"algorithm": "hmac-sha256-shape/1", "salt": "s"},
        "interactions": list(interactions),
    }


def test_bad_cassettes_name_the_file_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({**_cassette(), "format": "other"}))
    with pytest.raises(CassetteError, match=r"c.json: format"):
        load_cassette(path)
    path.write_text("{not json")
    with pytest.raises(CassetteError, match="is not JSON"):
        load_cassette(path)
    with pytest.raises(CassetteError, match="cannot read"):
        load_cassette(tmp_path / "missing.json")


def test_templates_hide_ids() -> None:
    assert path_template(f"/o/{ORG}/apis/10001/x/0123456789abcdef0123/id-0123456789abcdef") == (
        "/o/{uuid}/apis/{n}/x/{id}/{id}"
    )


def test_recorded_order_never_ahead_of_time_then_repeat() -> None:
    clock = ManualClock()
    cassette = parse_cassette(
        _cassette(
            _interaction(0.0, "GET", "/feed", {"v": 1}),
            _interaction(1.0, "GET", "/feed", {"v": 2}),
            _interaction(2.0, "GET", "/feed", {"v": 3}),
            _interaction(2.5, "GET", "/feed", {"v": 9}, status=503),  # errors are the fault's job
            _interaction(
                3.0, "GET", "/feed", {"v": 4}, fault="stall on *"
            ),  # faulted: not replayed
        )
    )
    replay = Replayer(cassette, clock.now, "reads")

    def served() -> int:
        answer = replay.answer("platform", "GET", "/feed", [], {}, known=True)
        assert answer is not None
        return int(json.loads(answer.body)["v"])

    assert [served(), served()] == [1, 1]  # the first answer; the next is not due yet
    clock.advance(2.5)  # two answers are due: served one per request, none skipped
    assert [served(), served(), served()] == [2, 3, 3]
    assert replay.served[("GET", "/feed")] == 5


def test_scope_unknown_leaves_the_fakes_own_endpoints_alone() -> None:
    cassette = parse_cassette(_cassette(_interaction(0, "GET", "/feed", {})))
    replay = Replayer(cassette, ManualClock().now, "unknown")
    assert replay.answer("platform", "GET", "/feed", [], {}, known=True) is None
    assert replay.answer("platform", "GET", "/feed", [], {}, known=False) is not None
    assert replay.answer("platform", "GET", "/feed", ["limit"], {}, known=False) is None
    assert replay.answer("ingest", "GET", "/feed", [], {}, known=False) is None
    assert replay.unimplemented == {("GET", "/feed"): 1}


def test_etag_and_pseudonyms() -> None:
    alias = "f9b997af29f39fcba3977587fd0d579f"
    cassette = parse_cassette(
        _cassette(
            _interaction(
                0,
                "GET",
                f"/org/{ORG}/policies",
                {"clientId": alias},
                headers=[["ETag", '"7"']],
            )
        )
    )
    real_org = "11111111-2222-4333-8444-555555555555"
    replay = Replayer(
        cassette,
        ManualClock().now,
        "reads",
        reidentify=lambda: {alias: "real-client", ORG: real_org},
    )
    answer = replay.answer("platform", "GET", f"/org/{real_org}/policies", [], {}, known=True)
    assert answer is not None and json.loads(answer.body) == {"clientId": "real-client"}
    again = replay.answer(
        "platform", "GET", f"/org/{real_org}/policies", [], {"if-none-match": 'W/"7"'}, known=True
    )
    assert again is not None and (again.status, again.body) == (304, b"")


def test_redacted_values_come_from_the_fakes_own_answer() -> None:
    recorded = json.dumps(
        {"data": [{"id": 2, "clientSecret": "<redacted>"}, {"id": 1, "clientSecret": "<redacted>"}]}
    ).encode()
    own = json.dumps(
        {"data": [{"id": 1, "clientSecret": "one"}, {"id": 2, "clientSecret": "two"}]}
    ).encode()
    assert json.loads(fill_redacted(recorded, own)) == {
        "data": [{"id": 2, "clientSecret": "two"}, {"id": 1, "clientSecret": "one"}]
    }
    assert fill_redacted(recorded, b"not json") == recorded
    assert json.loads(fill_redacted(b'{"a": "<redacted>"}', b"{}")) == {"a": "<redacted>"}


def test_a_running_fake_serves_a_cassette() -> None:
    state, _ = new_state()
    seed = state.seed(SEED)
    api = seed.apis["orders"]
    scope = f"/apigateway/ccs/v3/organizations/{state.org_id}/environments/{state.env_id}"
    cassette = parse_cassette(
        _cassette(
            _interaction(0, "GET", "/apigateway/ccs/v3/unheard-of/endpoint", {"learnt": True}),
            _interaction(
                0,
                "GET",
                f"{scope}/apis/{api}/contracts",
                {"data": [{"id": 99, "clientSecret": "<redacted>"}], "cursor": "c"},
            ),
        )
    )
    state.replay = Replayer(cassette, state.clock.now, "reads")

    async def main() -> None:
        async with client(state) as (server, session):
            async with session.get(f"{server.base_url}/apigateway/ccs/v3/unheard-of/endpoint") as r:
                assert r.status == 200 and await r.json() == {"learnt": True}
                assert r.headers["x-asmkit-replayed"] == "0.000"
            async with session.get(f"{server.base_url}{scope}/apis/{api}/contracts") as r:
                assert (await r.json())["data"][0]["id"] == 99
            async with session.get(
                f"{server.base_url}{scope}/apis/{api}/contracts",
                headers={"Authorization": "Bearer forged"},
            ) as r:
                assert r.status == 401  # recorded reads still need the fake's token
            async with session.get(f"{server.base_url}/still/unknown") as r:
                assert r.status == 404

    asyncio.run(main())
    journal = state.journal()
    assert [e.replayed for e in journal if "unheard-of" in e.path] == [True]
    assert state.replay.unimplemented == {("GET", "/apigateway/ccs/v3/unheard-of/endpoint"): 1}


def test_learn_lists_what_the_fake_does_not_implement() -> None:
    cassette = parse_cassette(
        _cassette(
            _interaction(0, "POST", "/accounts/api/v2/oauth2/token", {}),
            _interaction(1, "GET", f"/apigateway/ccs/v3/organizations/{ORG}/novel", {}),
            _interaction(2, "GET", f"/apigateway/ccs/v3/organizations/{ORG}/novel", {}, status=404),
            _interaction(3, "POST", "/v2/analytics/events", {}, host="ingest.example", status=202),
        )
    )
    uses = asyncio.run(endpoint_uses(cassette))
    missing = unimplemented(uses)
    assert [(u.method, u.template, u.count, dict(u.statuses)) for u in missing] == [
        ("GET", "/apigateway/ccs/v3/organizations/{uuid}/novel", 2, {200: 1, 404: 1})
    ]
    assert {(u.role, u.template) for u in uses if u.implemented} == {
        ("platform", "/accounts/api/v2/oauth2/token"),
        ("ingest", "/v2/analytics/events"),
    }


def test_serve_control_plane_with_a_cassette_reports_what_it_answered(tmp_path: Path) -> None:
    import argparse
    import io

    import aiohttp

    from fake_anypoint.commands import serve

    path = tmp_path / "rec.cassette.json"
    path.write_text(json.dumps(_cassette(_interaction(0, "GET", "/novel/42", {"ok": 1}))))
    args = argparse.Namespace(
        host="127.0.0.1", port=0, ingest_port=0, https=False, ca_dir=str(tmp_path / "ca"),
        state=None, seed=0, cassette=path, replay="unknown",
    )  # fmt: skip
    out = io.StringIO()

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(serve(args, out, stop))
        for _ in range(200):
            if "base_url" in out.getvalue():
                break
            await asyncio.sleep(0.01)
        base = out.getvalue().split()[1]
        async with aiohttp.ClientSession() as session, session.get(f"{base}/novel/7") as r:
            assert await r.json() == {"ok": 1}
        stop.set()
        assert await asyncio.wait_for(task, 10) == 0

    asyncio.run(main())
    assert out.getvalue().endswith(
        "endpoints this adapter used that the fake does not implement: 1\n"
        "       1  GET /novel/{n}\n"
    )
