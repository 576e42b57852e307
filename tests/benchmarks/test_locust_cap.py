"""`asmkit bench load`'s Locust runs with each worker held to a CPU share: a real one-worker
run against an Envoy answering itself stays within its cap (by the worker's own CPU clock while
its users ran) and leaves no cgroup behind; two runs at the same time each count only their
own processes' CPU; a worker that ran its users before its cap landed makes the figures an
error; without a usable controller the row says why."""

from __future__ import annotations

import asyncio
import json
import os
import resource
from pathlib import Path
from typing import Any

from benchmarks.cpu_quota import CGROUP_ROOT, CpuQuotas, find_controller
from benchmarks.load_tools import cap_figures, locust
from simulator.bench import backends
from simulator.model import DirectResponse, Route
from simulator.real_envoy import RealEnvoy
from simulator.settings import EnvoySettings


async def _capped_runs(cap: float, runs: int = 1) -> tuple[list[dict[str, Any] | None], float]:
    """``runs`` one-worker runs at the same time, and the CPU-seconds of every child process
    reaped meanwhile (their masters and workers)."""
    async with backends() as ports:
        settings = EnvoySettings(transport="http", authz_port=ports["http"], timeout_ms=1000)
        route = Route(disabled=True, direct_response=DirectResponse(status=200, body="ok"))
        envoy = RealEnvoy(settings, f"http://127.0.0.1:{ports['echo']}", [route], track=False)
        await envoy.start()
        try:
            url = envoy.listener_url + "/orders/1"
            before = _children_cpu()
            figures = await asyncio.gather(
                *(asyncio.to_thread(locust, url, 1, 2.0, cap) for _ in range(runs))
            )
            return list(figures), _children_cpu() - before
        finally:
            await envoy.close()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def test_a_capped_worker_stays_within_its_cap() -> None:
    found = find_controller(CGROUP_ROOT)
    assert not isinstance(found, str), found  # root with a cgroup cpu controller, as in CI
    [figures], _ = asyncio.run(_capped_runs(0.3))
    assert figures is not None and "error" not in figures, figures
    assert figures["cpu_per_worker"] == 0.3 and figures["tool"] == "locust x1 at 0.3 CPU"
    assert figures["requests"] > 0 and figures["rate"] > 0
    # generator_busy is the worker's CPU while its users ran over what the cap allots
    assert 0 < figures["generator_busy"] <= 1.1, figures
    assert figures["throttled"] >= 0  # read from the worker's group before it was removed
    assert not any(p.name.startswith(f"asmkit-cpu-{os.getpid()}-") for p in found[0].iterdir())


def test_runs_at_the_same_time_each_count_their_own_cpu() -> None:
    """The scaling row runs a one-worker and a two-worker Locust at once: each run's CPU is
    its own processes' (reaped with wait4), not whatever else exited while it ran."""
    runs, reaped = asyncio.run(_capped_runs(0.3, runs=2))
    assert all(r is not None and "error" not in r for r in runs), runs
    cpu = [r["cpu_s"] for r in runs if r is not None]
    assert all(c >= r["workers_cpu_s"] for c, r in zip(cpu, runs, strict=True) if r), runs
    assert abs(sum(cpu) - reaped) < 0.05, (cpu, reaped)


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
