"""Load from Locust processes: a two-worker run of a short what-if (the same requests as the
virtual replication, judged the same way) with Locust's web UI up meanwhile; a worker on another
"machine" (its own network namespace, reaching the master through tunnels); and Locust stays in
its own processes: nothing in the kit imports it."""

from __future__ import annotations

import asyncio
import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from live.launch import free_port
from live.profile import BUNDLED_PROFILE, load_profile
from live.whatif.engine import run_live_once
from live.whatif.locust_load import LocustLoad, LocustOptions, locust_available
from simulator.whatif import replication_seed, run_once
from tests.conftest import REQUIRE_ALL
from tests.proxy.helpers import require_netns
from tests.simulator.whatif.helpers import base, spec, write
from tests.test_layering import ROOT, imports_of

needs_locust = pytest.mark.skipif(
    not locust_available() and not REQUIRE_ALL, reason="the load extra (locust) is not installed"
)


@needs_locust
def test_two_locust_workers_drive_a_live_whatif() -> None:
    s = spec(
        duration=4.0,
        adapter={"contracts_interval": 0.5, "policies_interval": 1.0, "analytics_interval": 0.5},
        traffic={"arrival": {"process": "poisson", "rate": 250}},
        timeline=[{"at": 2.0, "revoke_contract": {"application": "mobile", "api": "orders"}}],
    )
    web = free_port()
    pages: list[int] = []

    async def go() -> Any:
        load = LocustLoad(LocustOptions(workers=2, port=free_port(), web_ui=True, web_port=web))
        run = asyncio.ensure_future(
            run_live_once(s, load_profile(BUNDLED_PROFILE), replication_seed(s, 0, 0), load=load)
        )
        while not run.done():
            await asyncio.sleep(0.5)
            try:
                page = await asyncio.to_thread(
                    urllib.request.urlopen, f"http://127.0.0.1:{web}/", timeout=2
                )
                pages.append(page.status)
            except OSError:
                pass
        return run.result()

    result = asyncio.run(go())
    m: dict[str, Any] = result.metrics
    same: dict[str, Any] = run_once(s, replication_seed(s, 0, 0)).metrics
    assert m["requests"] == same["requests"]  # each arrival sent once, by one of the workers
    # the revoked client gets through at most until the next contracts sync (none at all when
    # a sync came right after the revocation), and nothing is wrong beyond that lag
    assert m["wrongly_allowed"] <= (0.5 + 1.0) * 250 and m["wrong_beyond_lag"] == 0, result.warnings
    assert m["analytics_delivered"] + m["analytics_in_buffer_end"] <= m["requests"]
    assert 200 in pages  # Locust's web UI answered during the run


@needs_locust
def test_a_worker_on_another_machine(tmp_path: Path) -> None:
    """``--master`` here, ``asmkit whatif SPEC --live --worker`` on a load machine: the worker
    runs in a network namespace of its own (its own loopback, no route out) and reaches the
    master and the adapters only through tunnels into it, as docs/whatif.md tells users to set
    up with ``ssh -L``. Its whole share arrives and is judged like a local worker's."""
    from proxy.netns import Namespace
    from proxy.relay import Relay, opener_to

    require_netns()
    data = {
        "duration": 3.0,
        # a generous Envoy timeout: on a busy machine the tunnels must not turn checks into errors
        "adapter": {"contracts_interval": 0.5, "policies_interval": 1.0, "check_timeout": 2.0},
        "traffic": {"arrival": {"process": "poisson", "rate": 100}},
    }
    s = spec(**data)
    path = write(tmp_path, base(**data))
    port = free_port()
    load = LocustLoad(LocustOptions(expect_workers=1, port=port))
    namespace = Namespace()
    relays: list[Relay] = []

    async def tunnel(to_port: int) -> None:
        listener = await namespace.listen("127.0.0.1", to_port)
        relay = Relay(listener, opener_to("127.0.0.1", to_port), f"tunnel:{to_port}")
        await relay.start()
        relays.append(relay)

    async def go() -> tuple[Any, int]:
        run = asyncio.ensure_future(
            run_live_once(s, load_profile(BUNDLED_PROFILE), replication_seed(s, 0, 0), load=load)
        )
        async with asyncio.timeout(60):
            while not load.plan_path.exists() and not run.done():
                await asyncio.sleep(0.05)
        targets = json.loads(load.plan_path.read_text())["targets"]
        await asyncio.to_thread(namespace.create)
        try:
            for target in [f"127.0.0.1:{port}", *targets]:
                await tunnel(int(target.rsplit(":", 1)[1]))
            argv = [sys.executable, "-m", "asmkit", "whatif", str(path), "--live", "--worker"]
            argv += ["--master-host=127.0.0.1", f"--master-port={port}"]
            worker = await asyncio.create_subprocess_exec(
                *namespace.prefix(), *argv, stdout=asyncio.subprocess.DEVNULL
            )
            result = await run
            async with asyncio.timeout(30):
                code = await worker.wait()
        finally:
            for relay in relays:
                await relay.close()
            await asyncio.to_thread(namespace.delete)
        return result, code

    result, code = asyncio.run(go())
    m: dict[str, Any] = result.metrics
    assert m["requests"] == run_once(s, replication_seed(s, 0, 0)).metrics["requests"]
    assert m["errors"] == 0 and m["wrong_beyond_lag"] == 0
    assert code == 0


def test_nothing_in_the_kit_imports_locust() -> None:
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        environments = rel.parts[0].startswith(".venv")  # .venv and .venv-mitm
        if environments or rel.parts[0] == "build" or rel.parts[:2] == ("live", "locust"):
            continue
        for module in imports_of(path):
            if module.split(".")[0] in ("locust", "gevent") or module.startswith("live.locust"):
                offenders.append(f"{rel} imports {module}")
    assert offenders == []


def test_locust_is_refused_without_workers() -> None:
    with pytest.raises(ValueError, match="--workers"):
        LocustLoad(LocustOptions())
