"""The reference load tools `asmkit bench load` measures the kit's generators against, each on
the target it is given and timed by its own CPU-seconds (``wait4``): ``wrk`` (HTTP), ``h2load``
(gRPC over HTTP/2) and Locust with local workers; and the figures every row shares."""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CONCURRENCY = 32
AUTHORITY = "orders.default.svc.cluster.local"
ROOT = Path(__file__).resolve().parents[1]
CHECK_PATH = "/envoy.service.auth.v3.Authorization/Check"


def rate_figures(done: int, wall: float, cpu: float, tool: str) -> dict[str, Any]:
    return {
        "tool": tool,
        "requests": done,
        "rate": round(done / wall, 1) if wall > 0 else 0.0,
        "cpu_s": round(cpu, 3),
        "rate_per_core": round(done / cpu, 1) if cpu > 0 else None,
        "generator_busy": round(cpu / wall, 2) if wall > 0 else None,
        "generator_bound": bool(wall > 0 and cpu / wall >= 0.9),
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


def locust(url: str, workers: int, duration: float) -> dict[str, Any] | None:
    """Locust (the load extra) with ``workers`` local workers, 32 users each, headless."""
    import importlib.util

    if importlib.util.find_spec("locust") is None:
        return None
    locustfile = ROOT / "live" / "locust" / "locustfile.py"
    with tempfile.TemporaryDirectory(prefix="asmkit-bench-") as tmp:
        env = {
            **os.environ,
            "ASMKIT_LOCUST_TARGET": url,
            "ASMKIT_LOCUST_HOST": AUTHORITY,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        base = [sys.executable, "-m", "locust", "-f", str(locustfile)]
        port = _free_port()
        users = CONCURRENCY * workers
        before = _children_cpu()
        started = time.perf_counter()
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
        try:
            master.wait(timeout=duration + 60)
        finally:
            for proc in [*procs, master]:
                if proc.poll() is None:
                    proc.terminate()
                proc.wait(timeout=15)
        wall = time.perf_counter() - started
        stats = Path(f"{tmp}/bench_stats.csv")
        if not stats.exists():
            return {"tool": f"locust x{workers}", "error": "no statistics written"}
        row = [r for r in stats.read_text().splitlines() if ",Aggregated," in r]
        if not row:
            return {"tool": f"locust x{workers}", "error": "no aggregated row"}
        fields = row[0].split(",")
        header = stats.read_text().splitlines()[0].split(",")
        done = int(fields[header.index("Request Count")])
        rate = float(fields[header.index("Requests/s")])
        cpu = _children_cpu() - before
        figures = rate_figures(done, done / rate if rate else wall, cpu, f"locust x{workers}")
        figures["rate"] = round(rate, 1)
        return figures


def _free_port() -> int:
    from live.launch import free_port

    return free_port()
