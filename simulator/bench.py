"""Benchmark: simulated Envoy vs real Envoy 1.40, each in front of an allow-all grpc.aio /
aiohttp adapter and the echo upstream, for gRPC and HTTP ext_authz.

`python -m simulator.bench [duration_s] [requests]` prints the figures as JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from simulator.envoy import SimulatedEnvoy
from simulator.load import LoadResult, closed_loop_submitted, plane_submitter
from simulator.model import ClientRequest, DataPlane, Route
from simulator.real_envoy import RealEnvoy, find_envoy
from simulator.settings import (
    ASM_API_ID_HEADER,
    EnvoySettings,
    HttpServiceSettings,
    StringMatcher,
)

CONCURRENCY = 32
AUTHORITY = "orders.default.svc.cluster.local"
ROUTES = [Route(authority=AUTHORITY, context_extensions={"api_id": "10001", "service": "orders"})]


def _request(i: int) -> ClientRequest:
    return ClientRequest(
        path=f"/orders/{i}?x=1",
        headers=[("client_id", "abc"), ("user-agent", "asmkit-bench")],
        authority=AUTHORITY,
    )


def _figures(res: LoadResult) -> dict[str, Any]:
    s = res.summary()
    keys = ("throughput_rps", "p50_ms", "p99_ms", "completed", "errors")
    return {k: s[k] for k in keys}


async def _measure(plane: DataPlane, duration_s: float, requests: int) -> dict[str, Any]:
    await plane.start()
    try:
        await plane.handle(_request(-1))  # warm-up: connections, channels
        res = await closed_loop_submitted(
            plane_submitter(plane, _request),
            CONCURRENCY,
            count=requests,
            duration_s=duration_s,
        )
    finally:
        await plane.close()
    return _figures(res)


ALLOW_ALL_CHILD = "from simulator.scripted_adapter import serve_forever; serve_forever()"


@asynccontextmanager
async def backends(child: str = ALLOW_ALL_CHILD) -> AsyncIterator[dict[str, int]]:
    """An adapter and the echo upstream in a child process (``python -c child``), so that
    neither data plane shares its event loop with them. The child prints one JSON line with
    the ``grpc``, ``http`` and ``echo`` ports and serves until its stdin closes."""
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        child,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None and proc.stdin is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        if not line:
            raise RuntimeError("bench: the adapter process did not start")
        yield json.loads(line)
    finally:
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


async def bench(
    duration_s: float, requests: int, *, child: str = ALLOW_ALL_CHILD, adapter: str = "allow-all"
) -> list[dict[str, Any]]:
    """Simulated vs real Envoy in front of the adapter that ``child`` serves."""
    out: list[dict[str, Any]] = []
    have_envoy = find_envoy() is not None
    async with backends(child) as ports:
        upstream = f"http://127.0.0.1:{ports['echo']}"
        for transport in ("grpc", "http"):
            settings = EnvoySettings(
                transport=transport,
                authz_port=ports[transport],
                timeout_ms=1000,
                # HTTP mode sends only a few headers by default: add the credentials and the
                # API id the way an ASM deployment would (docs/adapter-contract.md §1.2)
                allowed_headers=(StringMatcher(exact="client_id"),)
                if transport == "http"
                else None,
                http_service=HttpServiceSettings(headers_to_add=(ASM_API_ID_HEADER,)),
            )
            sim = SimulatedEnvoy(settings, upstream, ROUTES, record_checks=False)
            figures = await _measure(sim, duration_s, requests)
            baseline: dict[str, Any] | None = None
            if have_envoy:
                real = RealEnvoy(settings, upstream, ROUTES, track=False)
                baseline = await _measure(real, duration_s, requests)
            ratio = None
            if baseline and baseline["throughput_rps"]:
                ratio = round(figures["throughput_rps"] / baseline["throughput_rps"], 3)
            out.append(
                {
                    "name": f"{transport} ext_authz: simulated Envoy vs real Envoy "
                    f"({adapter} adapter, echo upstream, {CONCURRENCY} concurrent)",
                    "figures": figures,
                    "baseline": baseline,
                    "ratio": ratio,
                }
            )
    return out


def run(duration_s: float, requests: int) -> list[dict[str, Any]]:
    """Throughput and p50/p99 of simulated vs real Envoy for gRPC and HTTP ext_authz.

    Each entry: `name`, `figures` (simulated), `baseline` (real Envoy, None without the
    binary) and `ratio` (simulated / real throughput). Each run is bounded by `requests` and
    `duration_s` per data plane.
    """
    if duration_s <= 0 or requests <= 0:
        raise ValueError(
            f"bench.run(duration_s={duration_s!r}, requests={requests!r}) is not valid: "
            "give a positive time budget and request count"
        )
    return asyncio.run(bench(duration_s, requests))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    duration = float(args[0]) if args else 5.0
    requests = int(args[1]) if len(args) > 1 else 5000
    print(json.dumps(run(duration, requests), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
