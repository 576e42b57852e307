"""The reference load tools `asmkit bench load` measures the kit's generators against, each on
the target it is given and timed by its own CPU-seconds (``wait4``): ``wrk`` (HTTP), ``h2load``
(gRPC over HTTP/2) and Locust with local workers (each optionally held to a CPU share); and the
figures every row shares."""

from __future__ import annotations

import json
import os
import re
import resource
import select
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.cpu_quota import CGROUP_ROOT, CpuQuotas

CONCURRENCY = 32
AUTHORITY = "orders.default.svc.cluster.local"
ROOT = Path(__file__).resolve().parents[1]
CHECK_PATH = "/envoy.service.auth.v3.Authorization/Check"


def rate_figures(
    done: int, wall: float, cpu: float, tool: str, busy: float | None = None
) -> dict[str, Any]:
    """A generator's figures: ``busy`` is the share of the CPU it may use that it used (by
    default ``cpu / wall``: one whole core, as the one-thread tools here may use); at 0.9 or
    more the generator, not the target, was the bottleneck."""
    if busy is None and wall > 0:
        busy = cpu / wall
    return {
        "tool": tool,
        "requests": done,
        "rate": round(done / wall, 1) if wall > 0 else 0.0,
        "cpu_s": round(cpu, 3),
        "rate_per_core": round(done / cpu, 1) if cpu > 0 else None,
        "generator_busy": None if busy is None else round(busy, 2),
        "generator_bound": busy is not None and busy >= 0.9,
    }


def _run_tool(name: str, args: list[str], timeout: float) -> tuple[str, float] | None:
    """Run the load tool ``name`` (None when it is not installed): its stdout and the
    CPU-seconds it used (from wait4)."""
    binary = shutil.which(name)
    if binary is None:
        return None
    before = _children_cpu()
    proc = subprocess.Popen([binary, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out.decode(errors="replace"), _children_cpu() - before


def _reap(proc: subprocess.Popen[bytes], timeout: float) -> float | None:
    """Wait up to ``timeout`` seconds for ``proc`` to exit and reap it: the CPU-seconds it used
    (from its own wait4, so runs that overlap in one process each count their own processes
    only), 0 when it was reaped before, None when it still runs."""
    if proc.returncode is not None:
        return 0.0
    exited = os.pidfd_open(proc.pid)  # readable once the process has exited
    try:
        waiting = select.poll()  # (not select.select: no limit on the descriptor's number)
        waiting.register(exited, select.POLLIN)
        if not waiting.poll(timeout * 1000):
            return None
    finally:
        os.close(exited)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrk(url: str, duration: float) -> dict[str, Any] | None:
    args = [
        "-t1",
        f"-c{CONCURRENCY}",
        f"-d{max(1, round(duration))}s",
        "-H",
        f"host: {AUTHORITY}",
        url,
    ]
    ran = _run_tool("wrk", args, duration + 30)
    if ran is None:
        return None
    out, cpu = ran
    match = re.search(r"(\d+) requests in ([\d.]+)s", out)
    if match is None:
        return {"tool": "wrk", "error": out[-300:]}
    return rate_figures(int(match.group(1)), float(match.group(2)), cpu, "wrk")


def h2load(port: int, body: Path, requests: int) -> dict[str, Any] | None:
    args = [
        f"-n{requests}",
        "-c1",
        f"-m{CONCURRENCY}",
        "-d",
        str(body),
        "-H",
        "content-type: application/grpc",
        "-H",
        "te: trailers",
        f"http://127.0.0.1:{port}{CHECK_PATH}",
    ]
    ran = _run_tool("h2load", args, 120)
    if ran is None:
        return None
    out, cpu = ran
    done = re.search(r"requests: \d+ total, \d+ started, (\d+) done", out)
    took = re.search(r"finished in ([\d.]+)(m?s)", out)
    if done is None or took is None:
        return {"tool": "h2load", "error": out[-300:]}
    seconds = float(took.group(1)) / (1000.0 if took.group(2) == "ms" else 1.0)
    return rate_figures(int(done.group(1)), seconds, cpu, "h2load")


def locust(
    url: str,
    workers: int,
    duration: float,
    cpu_per_worker: float | None = None,
    cgroup_root: Path = CGROUP_ROOT,
) -> dict[str, Any] | None:
    """Locust (the load extra) with ``workers`` local workers, 32 users each, headless; with
    ``cpu_per_worker``, each worker is held to that share of one CPU (a cgroup of its own,
    `benchmarks.cpu_quota`) from right after it starts: the master spawns users only once
    every worker has connected, and each worker records the cgroup it ran its users in."""
    import importlib.util

    if importlib.util.find_spec("locust") is None:
        return None
    tool = f"locust x{workers}" + ("" if cpu_per_worker is None else f" at {cpu_per_worker} CPU")
    with (
        CpuQuotas(cgroup_root) as quotas,
        tempfile.TemporaryDirectory(prefix="asmkit-bench-") as tmp,
    ):
        if cpu_per_worker is not None and quotas.unavailable is not None:
            return {"tool": tool, "cpu_per_worker": cpu_per_worker, "error": quotas.unavailable}
        master, procs = _start_locust(url, workers, duration, Path(tmp))
        cpu = 0.0
        try:
            for proc in procs:
                why = None if cpu_per_worker is None else quotas.cap(proc.pid, cpu_per_worker)
                if why is not None:
                    return {"tool": tool, "cpu_per_worker": cpu_per_worker, "error": why}
            cpu += _reap(master, duration + 60) or 0.0
            for proc in procs:  # workers quit when the master does, after their last figures
                cpu += _reap(proc, 10) or 0.0
        finally:
            for proc in [*procs, master]:
                if proc.returncode is None:
                    proc.terminate()
                    used = _reap(proc, 15)
                    if used is None:
                        proc.kill()
                        used = _reap(proc, 15)
                    cpu += used or 0.0
        throttled = [quotas.throttled(proc.pid) for proc in procs]
        figures = _locust_figures(Path(tmp), workers, cpu, tool)
        if "error" not in figures and cpu_per_worker is not None:
            pids = [proc.pid for proc in procs]
            figures.update(cap_figures(Path(tmp), quotas, pids, cpu_per_worker, throttled))
        figures["cpu_per_worker"] = cpu_per_worker
    return figures


def _start_locust(
    url: str, workers: int, duration: float, tmp: Path
) -> tuple[subprocess.Popen[bytes], list[subprocess.Popen[bytes]]]:
    """A headless master waiting for ``workers`` workers, and the workers."""
    locustfile = ROOT / "live" / "locust" / "locustfile.py"
    env = {
        **os.environ,
        "ASMKIT_LOCUST_TARGET": url,
        "ASMKIT_LOCUST_HOST": AUTHORITY,
        "ASMKIT_LOCUST_CPU_DIR": str(tmp),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    base = [sys.executable, "-m", "locust", "-f", str(locustfile)]
    port = _free_port()
    users = CONCURRENCY * workers
    master = subprocess.Popen(
        [*base, "--master", "--headless", f"--expect-workers={workers}", f"--users={users}",
         f"--spawn-rate={users}", f"--run-time={max(2, round(duration))}s",
         "--master-bind-host=127.0.0.1", f"--master-bind-port={port}",
         "--csv", f"{tmp}/bench", "--only-summary", "FloodHttpUser"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    procs = [
        subprocess.Popen(
            [*base, "--worker", "--master-host=127.0.0.1", f"--master-port={port}"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    return master, procs


def _locust_figures(tmp: Path, workers: int, cpu: float, tool: str) -> dict[str, Any]:
    """The run's figures from Locust's statistics (rate over Locust's own run time) and the
    workers' own CPU while their users ran; busy is against one whole core per worker."""
    stats = tmp / "bench_stats.csv"
    if not stats.exists():
        return {"tool": tool, "error": "no statistics written"}
    lines = stats.read_text().splitlines()
    row = [r for r in lines if ",Aggregated," in r]
    if not row:
        return {"tool": tool, "error": "no aggregated row"}
    fields, header = row[0].split(","), lines[0].split(",")
    done = int(fields[header.index("Request Count")])
    rate = float(fields[header.index("Requests/s")])
    loads = _worker_loads(tmp)
    busy = None
    if len(loads) == workers:
        busy = sum(load["cpu_s"] for load in loads) / sum(load["wall_s"] for load in loads)
    figures = rate_figures(done, done / rate if rate else 0.0, cpu, tool, busy)
    figures["rate"] = round(rate, 1)
    figures["workers_cpu_s"] = round(sum(load["cpu_s"] for load in loads), 3)
    return figures


def _worker_loads(tmp: Path) -> list[dict[str, Any]]:
    """What each worker wrote when its users stopped (``live/locust/locustfile.py``)."""
    loads: list[dict[str, Any]] = []
    for path in sorted(tmp.glob("worker-*.json")):
        try:
            loads.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return loads


def cap_figures(
    tmp: Path,
    quotas: CpuQuotas,
    pids: list[int],
    cap: float,
    throttled: list[tuple[int, int] | None],
) -> dict[str, Any]:
    """A capped run's busy share against what the caps allot (workers x cap), the share of
    scheduling periods the caps held the workers back in, and an error if any worker ran its
    users outside its group (the cap landed late)."""
    loads = _worker_loads(tmp)
    out: dict[str, Any] = {}
    if len(loads) == len(pids):
        allotted = sum(load["wall_s"] for load in loads) * cap
        busy = sum(load["cpu_s"] for load in loads) / allotted
        out = {"generator_busy": round(busy, 2), "generator_bound": busy >= 0.9}
    periods = [t for t in throttled if t is not None]
    if periods and sum(p for p, _ in periods) > 0:
        out["throttled"] = round(sum(t for _, t in periods) / sum(p for p, _ in periods), 2)
    groups = {quotas.group_name(pid) for pid in pids}
    late = [load for load in loads if not any(g in load.get("cgroup", "") for g in groups)]
    if late:
        out["error"] = f"{len(late)} worker(s) started their users before their CPU cap"
    return out


def _free_port() -> int:
    from live.launch import free_port

    return free_port()
