"""A clean stop with a bound (``adapters: stop`` with ``within``): an adapter that ends in time
reports a clean stop; one that overruns is killed, a command adapter with SIGKILL and an
in-process one through its ``abort()``, and the stop reports that it was not clean."""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import pytest

from live.launch import free_port, start_adapter
from live.profile import AdapterLaunch
from scenarios.steps import AdapterStep

IGNORES_SIGTERM = """
import signal, socket, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN if sys.argv[2] == "ignore" else signal.SIG_DFL)
server = socket.create_server(("127.0.0.1", int(sys.argv[1])))
while True:
    time.sleep(0.05)
"""


async def _command_stop(behaviour: str, within: float) -> tuple[bool, float, int | None]:
    port = free_port()
    launch = AdapterLaunch(
        command=[sys.executable, "-c", IGNORES_SIGTERM, "{grpc_port}", behaviour],
        ready_timeout=10.0,
    )
    adapter = await start_adapter(
        launch, {"grpc_port": port, "http_port": None}, transport="grpc", log_path=None
    )
    began = time.monotonic()
    clean = await adapter.stop(within)
    return clean, time.monotonic() - began, adapter.exit_code


def test_a_command_adapter_that_exits_on_sigterm_stops_cleanly() -> None:
    clean, took, _ = asyncio.run(_command_stop("exit", 5.0))
    assert clean and took < 5.0


def test_a_command_adapter_that_ignores_sigterm_is_killed_at_the_bound() -> None:
    clean, took, exit_code = asyncio.run(_command_stop("ignore", 0.5))
    assert not clean
    assert 0.5 <= took < 5.0
    assert exit_code == -9  # SIGKILL


class Hangs:
    """An in-process adapter whose stop never ends, and whose abort is recorded."""

    def __init__(self, settings: Any) -> None:
        self.grpc_port = settings["grpc_port"]
        self.http_port = None
        self.aborted = False
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", self.grpc_port)

    async def stop(self) -> None:
        await asyncio.Event().wait()

    async def abort(self) -> None:
        self.aborted = True
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


created: list[Hangs] = []


def hangs(settings: Any) -> Hangs:
    created.append(Hangs(settings))
    return created[-1]


def test_an_in_process_adapter_whose_stop_hangs_is_aborted_at_the_bound() -> None:
    async def run() -> bool:
        launch = AdapterLaunch(
            in_process=f"{__name__}:hangs", settings={"grpc_port": "{grpc_port}"}
        )
        adapter = await start_adapter(
            launch, {"grpc_port": free_port(), "http_port": None}, transport="grpc", log_path=None
        )
        async with asyncio.timeout(5.0):
            return await adapter.stop(0.3)

    assert asyncio.run(run()) is False
    assert created[-1].aborted


def test_within_bounds_only_a_stop() -> None:
    assert AdapterStep.model_validate({"adapters": "stop", "within": "30s"}).within == 30.0
    with pytest.raises(ValueError, match="within bounds a stop"):
        AdapterStep.model_validate({"adapters": "start", "within": "30s"})
