"""Telling when the load generator, not the adapter, was the bottleneck: the rule on its own,
the live driver falling behind a schedule it cannot keep, and the live table saying so."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from rich.console import Console

from live.whatif.capacity import Capacity, capacity_from_metrics, capacity_of
from live.whatif.command import _generator_sentences, _print
from live.whatif.driver import Driver
from live.whatif.runner import LivePoint, LiveWhatIf
from simulator import ClientRequest, ClientResponse
from simulator.model import DataPlane
from simulator.whatif.arrivals import Chunk
from simulator.whatif.judge import Observed
from simulator.whatif.loader import load_whatif
from simulator.whatif.result import RunResult
from tests.simulator.whatif.helpers import base, write


def test_on_time_sends_are_not_a_bottleneck() -> None:
    observed = [Observed(i / 100, 0, 0, "allowed", 200, i / 100 + 0.001) for i in range(100)]
    cap = capacity_of(observed, 1.0, None)
    assert cap is not None
    assert cap.intended_rate == pytest.approx(100.0)
    assert cap.achieved_rate == pytest.approx(100.0)
    assert not cap.behind and cap.sentence() is None
    assert capacity_of([], 1.0, None) is None


def test_late_sends_with_a_flat_adapter_are_the_generators_fault() -> None:
    cap = Capacity(intended_rate=1000, achieved_rate=600, send_late_p99_ms=400, adapter_p99_ms=2)
    assert cap.generator_bound
    sentence = cap.sentence()
    assert sentence is not None and "not the adapter, was the bottleneck" in sentence
    assert "600 req/s of the intended 1,000" in sentence and "--workers" in sentence
    both = Capacity(intended_rate=1000, achieved_rate=600, send_late_p99_ms=40, adapter_p99_ms=900)
    assert both.behind and not both.generator_bound
    assert "both were saturated" in (both.sentence() or "")


class BusyPlane:
    """Answers at once (the adapter is flat) but costs the sending process ``cost_s`` of CPU
    per request: a generator that cannot keep a fast schedule."""

    def __init__(self, cost_s: float) -> None:
        self.cost_s = cost_s

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def handle(self, request: ClientRequest) -> ClientResponse:
        end = time.perf_counter() + self.cost_s
        while time.perf_counter() < end:
            pass
        return ClientResponse(200, [], b"", "allowed", duration_s=0.0001)


class Schedule:
    """``n`` arrivals ``1/rate`` apart."""

    def __init__(self, n: int, rate: float) -> None:
        self.n, self.rate = n, rate

    def chunks(self, start: float, end: float) -> list[Chunk]:
        times = [i / self.rate for i in range(self.n)]
        zeros = [0] * self.n
        return [Chunk(times, zeros, zeros, zeros, [0.0] * self.n)]


@pytest.mark.parametrize(("cost_s", "bound"), [(0.002, True), (0.0, False)])
def test_the_driver_falls_behind_a_schedule_it_cannot_keep(cost_s: float, bound: bool) -> None:
    """300 arrivals at 1,000/s: at 2 ms of CPU per request the driver can send 500/s at most."""

    async def main() -> tuple[Capacity | None, Driver]:
        plane: DataPlane = BusyPlane(cost_s)
        driver = Driver([ClientRequest()], lambda *_: plane)
        loop = asyncio.get_running_loop()
        observed = await driver.run(Schedule(300, 1000.0), loop.time(), 0.3, 5.0)  # type: ignore[arg-type]
        return capacity_of(observed, 0.3, driver.progress.answer), driver

    cap, driver = asyncio.run(main())
    assert cap is not None and driver.progress.completed == 300
    assert cap.intended_rate == pytest.approx(1000.0)
    if bound:
        assert cap.achieved_rate < 600 and cap.generator_bound
        assert cap.adapter_p99_ms is not None and cap.adapter_p99_ms < 1.0
    else:  # the same schedule is kept when sending costs nothing (a loose bound: shared CPUs)
        assert cap.achieved_rate > 900 and not cap.generator_bound


def test_the_command_says_it_once_per_case() -> None:
    behind = {"intended_rate": 1000.0, "achieved_rate": 500.0, "send_late_p99_ms": 300.0}
    runs = [RunResult(metrics={**behind, "adapter_p99_ms": 1.0}), RunResult(metrics={})]
    (sentence,) = _generator_sentences(runs)
    assert sentence.startswith("replication 1: The load generator, not the adapter")
    assert capacity_from_metrics({}) is None


def test_the_live_table_says_it(tmp_path: Path) -> None:
    """`asmkit whatif --live` prints the live-only rows and, under the table, the sentence."""
    file = load_whatif(write(tmp_path, base(duration=3.0)))
    behind = {"intended_rate": 1000.0, "achieved_rate": 500.0, "send_late_p99_ms": 300.0}
    result = RunResult(metrics={**behind, "adapter_p99_ms": 1.0, "generator_bound": 1})
    point = LivePoint(0, "t", None, file.spec, [result], {}, {})
    run = LiveWhatIf(file, "reference-adapter", "envoy", 1.0, 1.0, 1, [point], 3.0)
    console = Console(record=True, width=200)
    _print(run, console)
    text = console.export_text()
    assert "achieved_rate" in text and "adapter_p99_ms" in text and "generator_bound" in text
    assert "The load generator, not the adapter, was the bottleneck" in text
