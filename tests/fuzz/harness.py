"""Running a fuzz target: a Hypothesis search with a per-input time limit, and the figures it
reports (inputs tried, and how each ended). A target is a function of one generated input that
returns the outcome's name ("accepted", "rejected", "denied 401", ...) or raises: an
``AssertionError`` for a wrong answer (a 5xx, an unclear error), ``Hang`` when an input ran
past its time, any other exception being a traceback the target let through."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

INPUT_TIME_LIMIT_S = 10.0
"""An input that keeps a reader or a face busy longer than this is a hang."""


class Hang(AssertionError):
    """An input ran past ``INPUT_TIME_LIMIT_S``."""


@contextlib.contextmanager
def background_loop(
    start: Callable[[], Coroutine[Any, Any, None]],
    stop: Callable[[], Coroutine[Any, Any, None]],
    start_timeout_s: float = 30.0,
) -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop in a daemon thread with a server on it: ``start()`` runs there before the
    loop is yielded, ``stop()`` after, then the loop ends (the fuzzed sockets live in it)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(start(), loop).result(start_timeout_s)
        yield loop
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@contextlib.contextmanager
def time_limit(seconds: float = INPUT_TIME_LIMIT_S) -> Iterator[None]:
    """Raise `Hang` in the main thread if the block runs longer than ``seconds`` (elsewhere, or
    on a platform without SIGALRM, the block runs unguarded)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise Hang(f"still running after {seconds:g}s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Figures:
    """What one run of a target found."""

    target: str
    inputs: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    failure: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failure

    def line(self) -> str:
        counts = ", ".join(f"{n} {k}" for k, n in sorted(self.outcomes.items()))
        verdict = "OK" if self.ok else f"FAILED: {self.failure}"
        return f"{self.target}: {self.inputs} inputs in {self.seconds:.1f}s ({counts}) {verdict}"


@dataclass(frozen=True)
class Target:
    """A named fuzz target: ``inputs`` generates, ``check`` judges one input."""

    name: str
    inputs: st.SearchStrategy[Any]
    check: Callable[[Any], str]
    setup: Callable[[], contextlib.AbstractContextManager[Any]] | None = None
    """A context (e.g. a running adapter) entered around the whole run."""


def run(
    target: Target, examples: int, *, derandomize: bool = False, shrink: bool = True
) -> Figures:
    """Try ``examples`` inputs of ``target``; the first failure ends the run (shrunk to a
    minimal input by Hypothesis unless ``shrink`` is False) and is reported."""
    figures = Figures(target.name)
    started = time.monotonic()

    @settings(
        max_examples=examples,
        deadline=None,  # time_limit() catches hangs; slow machines must not fail a run
        derandomize=derandomize,
        database=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, *([Phase.shrink] if shrink else [])],
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    @given(target.inputs)
    def search(value: Any) -> None:
        figures.inputs += 1
        figures.outcomes[target.check(value)] += 1

    context = target.setup() if target.setup else contextlib.nullcontext()
    try:
        with context:
            search()
    except Exception as exc:  # a traceback, a wrong answer or a hang: the run's finding
        kind = "hang" if isinstance(exc, Hang) else type(exc).__name__
        figures.outcomes[kind] += 1
        figures.failure = f"{kind}: {str(exc).splitlines()[0] if str(exc) else ''}"[:500]
    figures.seconds = time.monotonic() - started
    return figures
