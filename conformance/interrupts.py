"""SIGINT and SIGTERM stop a conformance run the same way: CI systems send SIGTERM when they
cancel or time out a job, and the run must then stop its stacks, write its report and say it was
interrupted, exactly as after Ctrl-C. Records which signal cut the run short, hands it on to
pytest-xdist workers (which run the stacks), and lets a stack stop in peace: a second signal
while it stops is ignored (execnet sends one to a worker that is slow to finish), a third stops
at once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Coroutine
from types import FrameType
from typing import Any, TypeVar

T = TypeVar("T")


class Interrupts:
    """While installed, SIGINT and SIGTERM cancel the scenario running in `run` (its
    ``finally`` blocks stop the stack, then `run` raises KeyboardInterrupt for pytest), or raise
    KeyboardInterrupt at once when no scenario runs. ``received`` names the first signal."""

    def __init__(self) -> None:
        self.received = ""
        self.workers: list[int] = []
        self.count = 0
        self._previous: dict[int, Any] = {}
        self._task: asyncio.Task[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def install(self) -> None:
        """Take over SIGINT and SIGTERM (main thread only; a no-op elsewhere)."""
        if self._previous or threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._on_signal)

    def uninstall(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def note_interrupt(self) -> None:
        """A KeyboardInterrupt reached pytest: SIGINT, unless another signal came first."""
        self.received = self.received or "SIGINT"

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """``asyncio.run(coroutine)``, cancelled (not broken off) by an interrupt: its cleanup
        runs to the end, then KeyboardInterrupt is raised."""

        async def main() -> T:
            self._task, self._loop = asyncio.current_task(), asyncio.get_running_loop()
            try:
                return await coroutine
            finally:
                self._task = self._loop = None

        try:
            return asyncio.run(main())
        except asyncio.CancelledError:
            if self.count:
                raise KeyboardInterrupt from None
            raise

    def _forward(self) -> None:
        for pid in self.workers:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGINT)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.received = self.received or signal.Signals(signum).name
        self.count += 1
        if self.count == 1:
            self._forward()
        task, loop = self._task, self._loop
        if task is None or loop is None or task.done() or self.count > 2:
            raise KeyboardInterrupt
        if self.count == 1:
            loop.call_soon_threadsafe(task.cancel)  # the case's finally blocks stop its stack
        else:
            print("asmkit: stopping the stack; interrupt again to stop at once", file=sys.stderr)
