"""Issue 12's findings against the fake control plane, each reproduced as an attack: gzip bombs
at the ingest, snapshots of the wrong shape, JSON nested 100,000 deep, broken multipart
bodies, NaN in fault settings, and the low-severity ones (``--state`` files are in
``test_state_file.py``)."""

from __future__ import annotations

import asyncio
import copy
import gzip
import json
import time
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from fake_anypoint.bounded import IngestLimits, TooLargeError, inflate, parse_events
from fake_anypoint.commands import exposure_warning

from .conftest import SEED, client, new_state, running


def _strict_json(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise AssertionError(f"bare {name} in a JSON answer")

    return json.loads(text, parse_constant=refuse)


def _gzip_stream(chunk: bytes, times: int, head: bytes = b"", tail: bytes = b"") -> bytes:
    """A gzip of ``head + chunk * times + tail`` made without holding the inflated text."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = [packer.compress(head)]
    out += [packer.compress(chunk) for _ in range(times)]
    out.append(packer.compress(tail))
    out.append(packer.flush())
    return b"".join(out)


async def _ingest(s: aiohttp.ClientSession, url: str, body: bytes) -> tuple[int, str]:
    headers = {"Content-Encoding": "gzip", "X-Batch-Id": "bomb", "Content-Type": "application/json"}
    async with s.post(url + "/v2/analytics/events", data=body, headers=headers) as resp:
        return resp.status, (await resp.json())["message"]


# -- 1. gzip bombs -----------------------------------------------------------------------------


def test_gzip_bomb_of_empty_events_is_413_not_millions_of_events():
    """The report: a 56 KiB gzip of ``[{},{},...]`` was accepted as 20 million events."""
    bomb = _gzip_stream(b"{}," * 100_000, 200, head=b"[", tail=b"{}]")  # 20,000,001 events
    assert len(bomb) < 200_000
    state, _ = new_state()

    async def main() -> None:
        async with client(state) as (server, s):
            status, message = await _ingest(s, server.ingest_url, bomb)
            assert status == 413 and "decompressed" in message
        limits = IngestLimits(max_bytes=64 * 1024 * 1024, max_events=1000)
        async with client(state, ingest_limits=limits) as (server, s):
            status, message = await _ingest(s, server.ingest_url, bomb)
            assert status == 413 and "more than 1000 events" in message

    asyncio.run(main())
    assert state.analytics_batches() == []


def test_gzip_bomb_never_inflates_past_the_budget():
    """The report: a 1 MiB gzip body took the fake to 2.1 GB; inflating stops at the budget."""
    bomb = _gzip_stream(b"\0" * (1 << 20), 1024)  # 1 GiB inflated, about 1 MiB on the wire
    limits = IngestLimits(max_bytes=4 * 1024 * 1024)
    tracemalloc.start()
    try:
        with pytest.raises(TooLargeError, match="decompressed"):
            inflate(bomb, "gzip", limits)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * limits.max_bytes, peak
    with pytest.raises(TooLargeError, match="more than 2 events"):
        parse_events(b"[{}, {}, {}]", IngestLimits(max_events=2))
    with pytest.raises(ValueError, match="truncated"):
        inflate(gzip.compress(b"[{}]")[:-12], "gzip", limits)


# -- 6. snapshot restore -----------------------------------------------------------------------


WRONG: list[tuple[str, Any, str]] = [
    ("apis", lambda s: s["apis"][0].update(services=5), "apis.0.services"),
    ("id", lambda s: s["apis"][0].update(id="x"), "apis.0.id"),
    ("status", lambda s: s["contracts"][0].update(seq=None), "contracts.0.seq"),
    ("missing", lambda s: s.pop("policies"), "policies"),
    ("reference", lambda s: s["policies"][0].update(api_id=424242), "policies[0].api_id"),
    (
        "fault",
        lambda s: s["faults"].append({"spec": {"data": "x"}, "start": 0, "end": None, "fired": 0}),
        "faults[0]",
    ),
    ("rng", lambda s: s.update(ids_rng=[3, [1, 2], None]), "ids_rng"),
]


@pytest.mark.parametrize(("name", "mutate", "where"), WRONG, ids=[w[0] for w in WRONG])
def test_a_wrong_snapshot_is_refused_whole_and_changes_nothing(name, mutate, where):
    """The report: a restore applied part of a document, and accepted types that gave 500s."""
    state, _ = new_state()
    state.seed(copy.deepcopy(SEED))
    before = state.snapshot()
    bad = copy.deepcopy(before)
    mutate(bad)

    async def main() -> None:
        async with client(state) as (server, s):
            admin = server.base_url + "/_admin/snapshot"
            async with s.put(admin, json=bad) as resp:
                message = (await resp.json())["message"]
                assert resp.status == 400 and where in message, message
            am = f"/apimanager/api/v1/organizations/{state.org_id}/environments/{state.env_id}"
            async with s.get(server.base_url + am + "/apis") as resp:
                assert resp.status == 200

    asyncio.run(main())
    after = state.snapshot()
    after["tokens"] = before["tokens"]
    assert after == before


# -- 8. nesting and multipart ------------------------------------------------------------------


def test_json_nested_100000_deep_is_400_on_every_json_route():
    state, _ = new_state()
    r = state.seed(copy.deepcopy(SEED))
    deep = b"[" * 100_000 + b"]" * 100_000
    deep_object = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    am = f"/apimanager/api/v1/organizations/{state.org_id}/environments/{state.env_id}"
    api = f"{am}/apis/{r.apis['orders']}"
    routes = [
        ("POST", f"{am}/apis"),
        ("PATCH", api),
        ("POST", f"{api}/policies"),
        ("PATCH", f"{api}/policies"),
        ("POST", f"{api}/contracts"),
        ("POST", f"{api}/tiers"),
        ("POST", f"/exchange/api/v2/organizations/{state.org_id}/applications"),
        ("POST", "/accounts/api/v2/oauth2/token"),
        ("POST", "/_admin/seed"),
        ("POST", "/_admin/faults"),
        ("PUT", "/_admin/snapshot"),
    ]

    async def main() -> None:
        async with client(state) as (server, s):
            for method, route in routes:
                for body in (deep, deep_object):
                    async with s.request(
                        method,
                        server.base_url + route,
                        data=body,
                        headers={"Content-Type": "application/json"},
                    ) as resp:
                        message = (await resp.json())["message"]
                        assert resp.status == 400, (method, route, message)
                        assert "nested deeper" in message or "required" not in message
            headers = {"X-Batch-Id": "deep", "Content-Type": "application/json"}
            async with s.post(
                server.ingest_url + "/v2/analytics/events",
                data=b"[" + deep_object + b"]",
                headers=headers,
            ) as resp:
                assert resp.status == 400 and "nested deeper" in (await resp.json())["message"]

    asyncio.run(main())


def test_a_broken_multipart_body_is_400():
    state, _ = new_state()

    async def main() -> None:
        async with client(state) as (server, s):
            org = state.org_id
            url = f"{server.base_url}/exchange/api/v2/organizations/{org}/assets/{org}/x/1.0.0"
            headers = {"Content-Type": "multipart/form-data; boundary=zzz"}
            for body in (b"--zzz\r\nContent-Disposition: form-data\r\n\r\nhalf", b"\xff" * 50):
                async with s.post(url, data=body, headers=headers) as resp:
                    assert resp.status == 400, await resp.text()
                    assert "form" in (await resp.json())["message"]
            token = server.base_url + "/accounts/api/v2/oauth2/token"
            async with s.post(token, data=b"--zzz\r\nbroken", headers=headers) as resp:
                assert resp.status == 400

    asyncio.run(main())
    assert state.published == {}


# -- 9. NaN and infinity -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b'{"data": "apis", "status": 503, "after": NaN}', "NaN"),
        (b'{"data": "apis", "latency": Infinity}', "Infinity"),
        (b'{"data": "apis", "latency": 1e308}', "latency"),
        (b'{"data": "apis", "status": 503, "probability": 1e-400}', "probability"),
    ],
)
def test_non_finite_fault_settings_are_refused(body: bytes, where: str):
    state, _ = new_state()

    async def main() -> None:
        async with client(state) as (server, s):
            admin = server.base_url + "/_admin/faults"
            headers = {"Content-Type": "application/json"}
            async with s.post(admin, data=body, headers=headers) as resp:
                message = (await resp.json())["message"]
                assert resp.status == 400 and where in message, message
            async with s.get(admin) as resp:
                assert _strict_json(await resp.text()) == []

    asyncio.run(main())


def test_nan_in_analytics_events_is_refused():
    state, _ = new_state()

    async def main() -> None:
        async with client(state) as (server, s):
            headers = {"X-Batch-Id": "nan", "Content-Type": "application/json"}
            async with s.post(
                server.ingest_url + "/v2/analytics/events",
                data=b'[{"response_bytes": NaN}]',
                headers=headers,
            ) as resp:
                assert resp.status == 400 and "NaN" in (await resp.json())["message"]

    asyncio.run(main())
    assert state.analytics_batches() == []


# -- low ---------------------------------------------------------------------------------------


def test_a_rejected_policy_consumes_no_id():
    state, _ = new_state()
    r = state.seed(copy.deepcopy(SEED))
    orders = r.apis["orders"]
    with pytest.raises(ValueError, match="pointcut"):
        state.apply_policy(orders, "cors", {}, pointcut=[{"colour": "red"}])
    first = state.apply_policy(orders, "cors", {})
    other, _ = new_state()
    r2 = other.seed(copy.deepcopy(SEED))
    assert first == other.apply_policy(r2.apis["orders"], "cors", {})


def test_a_partial_request_head_is_closed_after_the_header_timeout():
    """The report: a partial request stayed open over 150 s."""
    state, _ = new_state()

    async def main() -> float:
        async with running(state, header_timeout_s=0.5) as server:
            host, port = server.base_url.removeprefix("http://").split(":")
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(b"GET /_admin/info HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            await writer.drain()
            started = time.monotonic()
            data = await asyncio.wait_for(reader.read(), timeout=10)
            writer.close()
            assert data == b""
            return time.monotonic() - started

    assert asyncio.run(main()) < 5


def test_admin_token_and_the_exposure_warning(tmp_path: Path):
    assert exposure_warning("127.0.0.1", None) is None
    warning = exposure_warning("0.0.0.0", None)
    assert warning and "without authentication" in warning and "ASMKIT_ADMIN_TOKEN" in warning
    assert exposure_warning("0.0.0.0", "t0ken") is None
    state, _ = new_state()

    async def main() -> None:
        async with running(state, admin_token="s3cret") as server, aiohttp.ClientSession() as s:
            async with s.get(server.base_url + "/_admin/info") as resp:
                assert resp.status == 401 and "X-Asmkit-Admin-Token" in await resp.text()
            wrong = {"X-Asmkit-Admin-Token": "guess"}
            async with s.get(server.base_url + "/_admin/info", headers=wrong) as resp:
                assert resp.status == 401
            right = {"X-Asmkit-Admin-Token": "s3cret"}
            async with s.get(server.base_url + "/_admin/info", headers=right) as resp:
                assert resp.status == 200

    asyncio.run(main())


def test_serve_warns_when_listening_beyond_loopback(tmp_path: Path, capfd):
    from fake_anypoint.commands import serve

    from .test_store_and_serve import _args

    args = _args(tmp_path, "--host", "0.0.0.0")

    async def main() -> None:
        stop = asyncio.Event()
        stop.set()
        with open("/dev/null", "w") as out:
            await serve(args, out, stop)

    asyncio.run(main())
    assert "without authentication" in capfd.readouterr().err
