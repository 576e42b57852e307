"""Every route, fed junk bodies and junk ids, answers a JSON 4xx (never a 500) and a rejected
request leaves the state as it was."""

from __future__ import annotations

import asyncio
import copy
import json
import re
from typing import Any

from fake_anypoint import ControlPlaneServer

from .conftest import SEED, client, new_state, route_ids

JUNK: list[Any] = [
    None,
    [],
    [None],
    "x",
    1,
    True,
    {},
    {"name": None},
    {"status": 5},
    {"limits": "x", "name": 3},
    {"spec": [], "endpoint": 3},
    {"configurationData": [], "assetId": 7},
    {"apiIds": [True]},
    {"applicationId": [], "tierId": {}},
    {"client_id": 5},
]


def _routes(server: ControlPlaneServer, state: Any, ids: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for app in (server.platform_app(), server.ingest_app()):
        for route in app.router.routes():
            info = route.resource.get_info() if route.resource else {}
            path = info.get("path") or info.get("formatter")
            if not path or route.method in ("HEAD", "OPTIONS") or path.startswith("/_admin"):
                continue
            filled = path.format(**ids)
            out.append((route.method, filled))
    return out


def test_junk_never_gives_a_500_and_never_changes_state():
    state, _ = new_state()
    r = state.seed(copy.deepcopy(SEED))
    ids = route_ids(state, r)

    async def main() -> int:
        checked = 0
        async with client(state, platform_rate_limit=0) as (server, s):
            for method, path in _routes(server, state, ids):
                base = server.ingest_url if path.startswith("/v2/") else server.base_url
                variants = [path, re.sub(r"/\d+(?=/|$)", "/0", path), path + "?limit=-1&offset=x"]
                bodies: list[Any] = JUNK if method in ("POST", "PATCH", "PUT") else [None]
                for url_path in variants:
                    for body in bodies:
                        before = state.snapshot()
                        data = b"{broken" if body is None and method != "GET" else json.dumps(body)
                        headers = {"Content-Type": "application/json", "X-Batch-Id": "junk"}
                        async with s.request(
                            method, base + url_path, data=data, headers=headers
                        ) as resp:
                            text = await resp.text()
                            assert resp.status < 500, (method, url_path, body, text)
                            if resp.status >= 400:
                                assert json.loads(text)["message"], (method, url_path, text)
                                after = state.snapshot()
                                after["tokens"] = before["tokens"]
                                assert after == before, (method, url_path, body)
                            checked += 1
                        # undo accepted changes so every request starts from the seed
                        if resp.status < 400 and method != "GET":
                            tokens = state.snapshot()["tokens"]
                            before["tokens"] = tokens
                            state.restore(before)
        return checked

    assert asyncio.run(main()) > 500
