"""Live load from Locust processes (the ``load`` extra): a master and N workers started as
commands (``python -m locust -f live/locust/locustfile.py``), never imported here (gevent
patches sockets in their processes). The kit writes the run's plan (arrivals, targets, the
serialized requests), the master hands it to its workers, and the workers' observations come
back through the master as JSON lines."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from live.sidecar import envoy_settings, routes_for
from live.stack import Stack
from live.whatif.driver import LiveProgress
from live.whatif.engine import Feed
from scenarios.model import DataPlaneNeeds
from simulator.downstream import normalize
from simulator.grpc_check import build_check_request
from simulator.http_check import auth_request_headers
from simulator.model import select_route
from simulator.whatif.judge import Observed

LOCUSTFILE = Path(__file__).resolve().parent.parent / "locust" / "locustfile.py"
USERS = {"grpc": "ExtAuthzGrpcUser", "http": "ExtAuthzHttpUser", "envoy": "EnvoyHttpUser"}


class LocustMissing(RuntimeError):
    """Locust is not installed (the ``load`` extra)."""


def locust_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("locust") is not None


@dataclass
class LocustOptions:
    """How the Locust processes run: ``workers`` local ones; ``expect_workers`` remote ones
    (``--master``) on ``bind:port``; Locust's web UI on ``web_port`` when ``web_ui``."""

    workers: int = 0
    expect_workers: int = 0
    bind: str = "127.0.0.1"
    port: int = 5557
    web_ui: bool = False
    web_port: int = 8089
    start_delay: float = 5.0
    log_dir: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.workers + self.expect_workers


def serialized_checks(stack: Stack, feed: Feed, transport: str) -> dict[str, Any]:
    """What the workers send, built the way the simulated Envoy builds it: CheckRequests
    (base64) for gRPC, authorization requests for HTTP mode, client requests for Envoy."""
    profile = stack.replicas.profile
    settings = envoy_settings(profile, DataPlaneNeeds(timeout=feed.spec.adapter.check_timeout), 1)
    routes, _ = routes_for(feed.spec.control_plane, stack.seed)
    rng = random.Random(0)
    checks, http_checks, http_requests = [], [], []
    for request in feed.requests:
        down = normalize(request, rng, 0.0, "127.0.0.1", 10000)
        route = select_route(routes, down.authority, down.path, down.headers)
        assert route is not None, f"no route for {down.authority}"
        if transport == "grpc":
            creq = build_check_request(settings, route, down, None)
            checks.append(base64.b64encode(creq.SerializeToString()).decode())
        elif transport == "http":
            headers = auth_request_headers(settings, down, None, route)
            path = settings.http_service.path_prefix + down.path
            http_checks.append([down.method, path, headers])
        else:
            headers = [("host", down.authority), *down.headers]
            http_requests.append([request.method, request.path, headers])
    return {"checks": checks, "http_checks": http_checks, "http_requests": http_requests}


def targets(stack: Stack, transport: str) -> list[str]:
    out = []
    for member in stack.replicas.members:
        if transport == "envoy":
            url = getattr(member.plane, "listener_url", "")
            if not url:
                raise RuntimeError("Locust's Envoy users need --data-plane envoy")
            out.append(url)
        else:
            port = member.variables["grpc_port" if transport == "grpc" else "http_port"]
            out.append(f"127.0.0.1:{port}" if transport == "grpc" else f"http://127.0.0.1:{port}")
    return out


class LocustLoad:
    """A `Load` (live.whatif.engine) driven by Locust processes."""

    def __init__(self, options: LocustOptions, transport: str | None = None) -> None:
        if not locust_available():
            raise LocustMissing("Locust is not installed: pip install 'asmkit[load]'")
        if options.total < 1:
            raise ValueError(
                "Locust load needs --workers N (local) or --master with --expect-workers"
            )
        self.options = options
        self.transport = transport
        self.progress = LiveProgress()
        self._dir = Path(tempfile.mkdtemp(prefix="asmkit-locust-"))
        self._procs: list[asyncio.subprocess.Process] = []
        self._planned = 0
        self._until = 0.0
        self._start = 0.0

    def _path(self, name: str) -> Path:
        return self._dir / name

    @property
    def plan_path(self) -> Path:
        """The run's plan (written when the run begins): what the master hands its workers,
        with the ``targets`` they send to (a remote worker needs a way to each)."""
        return self._path("plan.json")

    async def begin(self, stack: Stack, feed: Feed) -> float:
        transport = self.transport or stack.replicas.transport
        arrivals: dict[str, list[Any]] = {"t": [], "client": [], "request": [], "route": []}
        balancing = feed.spec.adapter.balancing
        n = 0
        for chunk in feed.stream.chunks(0.0, feed.until):
            for t, c, g, draw in zip(
                chunk.times, chunk.clients, chunk.requests, chunk.replicas, strict=True
            ):
                arrivals["t"].append(t)
                arrivals["client"].append(c)
                arrivals["request"].append(g)
                arrivals["route"].append(
                    draw if balancing == "random" else n if balancing == "round_robin" else c
                )
                n += 1
        plan = {
            **arrivals,
            **serialized_checks(stack, feed, transport),
            "targets": targets(stack, transport),
            "timeout": feed.spec.adapter.check_timeout,
            "workers": self.options.total,
            "start_wall": 0,
            "start_delay": self.options.start_delay,
            "drain_s": 10.0,
        }
        self._path("plan.json").write_text(json.dumps(plan), encoding="utf-8")
        self._path("observed.jsonl").write_text("", encoding="utf-8")
        self._planned = n
        self._until = feed.until
        await self._launch(USERS[transport], feed.until + 15.0 + self.options.start_delay)
        self._start = await self._started()
        return self._start

    def _env(self) -> dict[str, str]:
        root = str(Path(__file__).resolve().parents[2])
        return {
            **os.environ,
            **self.options.extra_env,
            "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]),
            "ASMKIT_LOCUST_PLAN": str(self._path("plan.json")),
            "ASMKIT_LOCUST_OUT": str(self._path("observed.jsonl")),
            "ASMKIT_LOCUST_START": str(self._path("start")),
        }

    async def _spawn(self, argv: list[str], log: str) -> None:
        out = self.options.log_dir / log if self.options.log_dir else self._path(log)
        with open(out, "wb") as f:
            proc = await asyncio.create_subprocess_exec(
                *argv, env=self._env(), stdout=f, stderr=f, stdin=asyncio.subprocess.DEVNULL
            )
        self._procs.append(proc)

    async def _launch(self, user: str, run_time: float) -> None:
        o = self.options
        base = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE)]
        master = [
            *base,
            "--master",
            f"--master-bind-host={o.bind}",
            f"--master-bind-port={o.port}",
            f"--expect-workers={o.total}",
            f"--users={o.total}",
            f"--spawn-rate={o.total}",
            f"--run-time={run_time:.0f}s",
            "--stop-timeout=15",
            "--only-summary",
            user,
        ]
        ui = [f"--web-host={o.bind}", f"--web-port={o.web_port}", "--autostart", "--autoquit=5"]
        master += ui if o.web_ui else ["--headless"]
        await self._spawn(master, "locust-master.log")
        for i in range(o.workers):
            await self._spawn(
                [*base, "--worker", "--master-host=127.0.0.1", f"--master-port={o.port}", user],
                f"locust-worker-{i + 1}.log",
            )

    async def _started(self) -> float:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60.0
        path = self._path("start")
        while loop.time() < deadline:
            if path.exists() and path.read_text().strip():
                wall = float(path.read_text())
                return loop.time() + (wall - time.time())
            if self._procs and self._procs[0].returncode is not None:
                break
            await asyncio.sleep(0.05)
        await self.stop()
        tail = self._log_tail()
        shutil.rmtree(self._dir, ignore_errors=True)
        raise RuntimeError(f"the Locust master did not start the run; its log:\n{tail}")

    def _log_tail(self) -> str:
        path = self._path("locust-master.log")
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    async def end(self) -> list[Observed]:
        """Wait until every planned request is reported (or the traffic's end plus a drain),
        then stop Locust (its summary goes to the master's log)."""
        loop = asyncio.get_running_loop()
        deadline = self._start + self._until + 12.0
        out = self._path("observed.jsonl")
        while loop.time() < deadline and self._procs[0].returncode is None:
            with out.open("rb") as f:
                if sum(1 for _ in f) >= self._planned:
                    break
            self.progress.elapsed = loop.time() - self._start
            await asyncio.sleep(0.25)
        await self.stop()
        observed = []
        for line in self._path("observed.jsonl").read_text(encoding="utf-8").splitlines():
            t, client, request, outcome, status, latency, sent = json.loads(line)
            observed.append(
                Observed(
                    float(t), int(client), int(request), str(outcome), int(status), float(sent)
                )
            )
            self.progress.latency.add(max(0.0, float(latency)))
            self.progress.answer.add(max(0.0, float(t) + float(latency) - float(sent)))
            self.progress.completed += 1
            self.progress.errors += outcome == "error"
        self.progress.sent = len(observed)
        observed.sort(key=lambda o: o.t)
        shutil.rmtree(self._dir, ignore_errors=True)
        return observed

    async def stop(self) -> None:
        for proc in reversed(self._procs):
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), 10)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
        self._procs = []
