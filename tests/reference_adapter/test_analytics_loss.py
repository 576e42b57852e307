"""No analytics event is lost silently: every event dropped (buffer full while the ingest
fails, batch refused by the ingest, still buffered at stop) is counted, logged (rate limited),
exposed on the Prometheus metrics endpoint, and makes the process exit non-zero."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
from envoy.service.auth.v3 import external_auth_pb2_grpc
from prometheus_client.parser import text_string_to_metric_families

from common.clock import ManualClock
from reference_adapter.adapter import ReferenceAdapter
from reference_adapter.model import CheckInput

from .grpc_helpers import check_request
from .test_adapter import settings

ROOT = Path(__file__).resolve().parents[2]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text exposition, parsed by the Prometheus client."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def _checks(port: int, count: int) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = external_auth_pb2_grpc.AuthorizationStub(channel)
        request = check_request({"client_id": "a"})
        for start in range(0, count, 200):
            await asyncio.gather(
                *(stub.Check(request, timeout=10) for _ in range(min(200, count - start)))
            )


async def _metrics(port: int) -> str:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as response,
    ):
        assert response.status == 200
        assert response.headers["content-type"].startswith("text/plain")
        return await response.text()


def test_a_full_buffer_during_an_ingest_outage_is_counted_logged_exposed_and_fails_the_exit():
    """The reported case: the ingest fails, 5,001 decisions, a buffer of 1,000: 4,001 events are
    dropped. The metrics say so while it runs; at SIGTERM the log names all 5,001 lost events
    (not only the 1,000 still buffered) and the exit status is not 0."""
    argv = [
        sys.executable, "-m", "reference_adapter",
        "--platform-url", "http://127.0.0.1:9", "--ingest-url", "http://127.0.0.1:9",
        "--client-id", "c", "--org-id", "o", "--env-id", "e",
        "--analytics-buffer", "1000", "--analytics-batch-size", "500",
        "--analytics-retry-base", "30", "--stop-flush-timeout", "0.3", "--metrics-port", "0",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ANYPOINT_CLIENT_SECRET": "s"}
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert "metrics_port=" in line, line
            grpc_port = int(line.split("grpc_port=")[1].split()[0])
            metrics_port = int(line.split("metrics_port=")[1].split()[0])
            asyncio.run(_checks(grpc_port, 5001))
            exposed = samples(asyncio.run(_metrics(metrics_port)))
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=20)
            log = proc.stderr.read() if proc.stderr else ""
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    dropped = ("asm_analytics_events_dropped_total", (("reason", "buffer_full"),))
    assert exposed[dropped] == 4001
    assert exposed[("asm_analytics_events_total", ())] == 5001
    assert exposed[("asm_analytics_events_buffered", ())] == 1000
    assert exposed[("asm_analytics_events_sent_total", ())] == 0
    assert code == 3, log
    assert "analytics buffer full" in log and "dropped" in log, log
    assert log.count("analytics buffer full") <= 2, log  # rate limited, not one line per event
    assert "5,001 analytics events lost" in log, log
    assert "4,001 dropped while the buffer was full" in log, log
    assert "1,000 still undelivered at stop" in log, log


def test_drop_warnings_are_rate_limited_and_carry_the_count(caplog: pytest.LogCaptureFixture):
    clock = ManualClock()
    adapter = ReferenceAdapter(settings(analytics_buffer=10, analytics_batch_size=5), clock=clock)
    request = CheckInput(api_id="10001", method="GET", path="/", headers={}, source_ip="")

    async def decide(n: int) -> None:
        for _ in range(n):
            await adapter.handle(request)

    with caplog.at_level(logging.WARNING, logger="reference_adapter"):
        asyncio.run(decide(25))  # 15 dropped at t=0: one warning at once
        clock.advance(5.0)
        asyncio.run(decide(5))  # 5 more within the interval: no new line
        clock.advance(6.0)
        asyncio.run(decide(1))  # the interval passed: one line with the 6 since the last
    lines = [r.getMessage() for r in caplog.records if "analytics buffer full" in r.getMessage()]
    assert len(lines) == 2, lines
    assert "dropped 1 event" in lines[0] and "(1 in total)" in lines[0]
    assert "dropped 20 events" in lines[1] and "(21 in total)" in lines[1]
    assert adapter.batcher.stats.dropped == 21
    assert adapter.lost_events == 21


def test_metrics_endpoint_of_the_in_process_adapter_counts_rejected_batches():
    """A batch the ingest refuses for good (a 400) counts as dropped with its own reason."""
    import respx

    from .fake_platform import FakePlatform

    fake = FakePlatform()
    fake.ingest_refuses = 400

    async def scenario() -> dict[Any, float]:
        with respx.mock(assert_all_called=False) as router:
            fake.install(router)
            adapter = ReferenceAdapter(settings(metrics_port=0, analytics_interval=0.02))
            await adapter.start()
            try:
                request = CheckInput(api_id="1", method="GET", path="/", headers={}, source_ip="")
                for _ in range(3):
                    await adapter.handle(request)
                for _ in range(200):
                    if adapter.batcher.stats.rejected == 3:
                        break
                    await asyncio.sleep(0.01)
                assert adapter.metrics_port
                return samples(await _metrics(adapter.metrics_port))
            finally:
                await adapter.stop()

    exposed = asyncio.run(scenario())
    assert exposed[("asm_analytics_events_dropped_total", (("reason", "rejected"),))] == 3
    assert exposed[("asm_analytics_events_dropped_total", (("reason", "buffer_full"),))] == 0
