"""`asmkit bench load`'s Locust runs with each worker held to a CPU share: a real one-worker
run against an Envoy answering itself stays within its cap (by the worker's own CPU clock while
its users ran) and leaves no cgroup behind; each process is timed by its own CPU, so two runs
at the same time each count only theirs; a worker that ran its users before its cap landed
makes the figures an error; without a usable controller the row says why."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.cpu_quota import CGROUP_ROOT, CpuQuotas, find_controller
from benchmarks.load_tools import _children_cpu, _reap, cap_figures, locust
from simulator.bench import backends
from simulator.model import DirectResponse, Route
from simulator.real_envoy import RealEnvoy
from simulator.settings import EnvoySettings


async def _capped_run(cap: float) -> dict[str, Any] | None:
    async with backends() as ports:
        settings = EnvoySettings(transport="http", authz_port=ports["http"], timeout_ms=1000)
        route = Route(disabled=True, direct_response=DirectResponse(status=200, body="ok"))
        envoy = RealEnvoy(settings, f"http://127.0.0.1:{ports['echo']}", [route], track=False)
        await envoy.start()
        try:
            url = envoy.listener_url + "/orders/1"
            return await asyncio.to_thread(locust, url, 1, 2.0, cap)
        finally:
            await envoy.close()


def test_a_capped_worker_stays_within_its_cap() -> None:
    found = find_controller(CGROUP_ROOT)
    assert not isinstance(found, str), found  # root with a cgroup cpu controller, as in CI
    figures = asyncio.run(_capped_run(0.3))
    assert figures is not None and "error" not in figures, figures
    assert figures["cpu_per_worker"] == 0.3 and figures["tool"] == "locust x1 at 0.3 CPU"
    assert figures["requests"] > 0 and figures["rate"] > 0
    assert figures["cpu_s"] >= figures["workers_cpu_s"] > 0  # the master's and the worker's
    # generator_busy is the worker's CPU while its users ran over what the cap allots
    assert 0 < figures["generator_busy"] <= 1.1, figures
    assert figures["throttled"] >= 0  # read from the worker's group before it was removed
    assert not any(p.name.startswith(f"asmkit-cpu-{os.getpid()}-") for p in found[0].iterdir())


_BURN = "import time\nend = time.process_time() + {}\nwhile time.process_time() < end: pass"


def test_each_process_is_timed_by_its_own_cpu() -> None:
    """The scaling row runs two Locusts at once in one process, so each run times its own
    processes by their own wait4, not by what this process reaped meanwhile: here one child
    exits while the other is waited for, and each still gets its own CPU."""
    short = subprocess.Popen([sys.executable, "-c", _BURN.format(0.1)])
    long = subprocess.Popen([sys.executable, "-c", _BURN.format(0.4)])
    before = _children_cpu()
    long_cpu, short_cpu = _reap(long, 30), _reap(short, 30)
    assert long_cpu is not None and 0.4 <= long_cpu < 0.7, long_cpu
    assert short_cpu is not None and 0.1 <= short_cpu < 0.4, short_cpu
    assert abs(long_cpu + short_cpu - (_children_cpu() - before)) < 0.01
    assert _reap(long, 1) == 0.0 and long.returncode == 0  # reaped once, counted once
    waiting = subprocess.Popen([sys.executable, "-c", "input()"], stdin=subprocess.PIPE)
    assert _reap(waiting, 0.05) is None and waiting.returncode is None  # still running
    assert waiting.stdin is not None
    waiting.stdin.close()
    assert _reap(waiting, 30) is not None and waiting.returncode is not None


def test_a_capped_run_without_a_controller_says_why(tmp_path: Path) -> None:
    figures = locust("http://127.0.0.1:9/", 1, 2.0, 0.5, cgroup_root=tmp_path)
    assert figures is not None
    assert figures["cpu_per_worker"] == 0.5 and "requests" not in figures
    assert figures["error"].startswith(f"no cgroup cpu controller under {tmp_path}")


def test_a_worker_that_ran_outside_its_group_is_an_error(tmp_path: Path) -> None:
    """Each worker records its cgroups when its users start: one that was not yet in its
    group (the cap landed after the load began) makes the run's figures an error."""
    quotas = CpuQuotas(tmp_path)
    inside = f"1:cpu:/{quotas.group_name(11)}\n"
    (tmp_path / "worker-11.json").write_text(json.dumps(_load(inside)))
    (tmp_path / "worker-12.json").write_text(json.dumps(_load("1:cpu:/\n")))
    figures = cap_figures(tmp_path, quotas, [11, 12], 0.5, [(20, 15), (20, 5), None])
    assert figures["error"] == "1 worker(s) started their users before their CPU cap"
    assert figures["generator_busy"] == 0.8 and not figures["generator_bound"]
    assert figures["throttled"] == 0.5
    (tmp_path / "worker-12.json").write_text(json.dumps(_load(f"1:cpu:/{quotas.group_name(12)}")))
    assert "error" not in cap_figures(tmp_path, quotas, [11, 12], 0.5, [])


def _load(cgroup: str) -> dict[str, Any]:
    return {"cpu_s": 0.8, "wall_s": 2.0, "cgroup": cgroup}
