"""SIGTERM behaves like SIGINT during a conformance run: CI systems send SIGTERM when they cancel
or time out a job, and the run must then stop its stacks, write its report and say it was
interrupted, exactly as after Ctrl-C. Records which signal cut the run short, and hands it on
to pytest-xdist workers, which run the stacks."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from types import FrameType
from typing import Any


class Interrupts:
    """While installed, SIGTERM is handed to whatever handles SIGINT at that moment (pytest's
    KeyboardInterrupt, or ``asyncio.run``'s handler that cancels the running scenario so its
    ``finally`` blocks stop the stack). ``received`` names the first signal that arrived.

    On an xdist controller (``controller=True``) SIGINT is taken over too, so that both
    signals reach the ``workers`` (pids) before the controller stops waiting for them."""

    def __init__(self) -> None:
        self.received = ""
        self.workers: list[int] = []
        self._previous: dict[int, Any] = {}

    def install(self, *, controller: bool = False) -> None:
        """Take over SIGTERM, and SIGINT on a controller (main thread only, else a no-op)."""
        if self._previous or threading.current_thread() is not threading.main_thread():
            return
        self._previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, self._on_sigterm)
        if controller:
            self._previous[signal.SIGINT] = signal.signal(signal.SIGINT, self._on_sigint)

    def uninstall(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def note_interrupt(self) -> None:
        """A KeyboardInterrupt reached pytest: SIGINT, unless SIGTERM was turned into it."""
        self.received = self.received or "SIGINT"

    def _forward(self) -> None:
        for pid in self.workers:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGINT)

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        self.received = self.received or "SIGINT"
        self._forward()
        raise KeyboardInterrupt

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        self.received = self.received or "SIGTERM"
        self._forward()
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler) and handler is not self._on_sigint:
            handler(signal.SIGINT, frame)
        else:  # SIGINT ignored, default, or ours: interrupt the way Ctrl-C would
            raise KeyboardInterrupt
