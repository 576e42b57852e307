"""Deliberately broken variants of the reference adapter, each with one plausible bug in how
it starts, stops or survives a kill: a metrics endpoint left listening after stop, a state cache
saved only on the way out, a start that goes on without its port or keeps the ports it bound
when a later one fails, a flush at stop that gives each post a sliver of its time. Factories as
in `tests.conformance.broken_adapters`."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from reference_adapter.adapter import Event, ReferenceAdapter
from reference_adapter.batcher import Batch
from tests.conformance.broken_adapters import _settings


class MetricsLeftListening(ReferenceAdapter):
    """Returns from ``stop()`` before its metrics endpoint is closed: the port stays bound a
    while longer (closed by a task it does not await)."""

    async def stop(self, *, flush: bool = True) -> None:
        runner, self._metrics_runner = self._metrics_runner, None
        await super().stop(flush=flush)
        if runner is not None:
            self._late_close = asyncio.create_task(self._close_later(runner))

    @staticmethod
    async def _close_later(runner: Any) -> None:
        try:
            await asyncio.sleep(5)
        finally:
            await runner.cleanup()


class SavesStateOnlyAtStop(ReferenceAdapter):
    """Writes its state cache when it stops cleanly, never while it runs: a SIGKILL leaves
    the cache of its previous life (here none), so a restart during an outage has nothing."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self._save_now = self.sync._save
        self.sync._save = lambda: None  # type: ignore[method-assign]

    async def stop(self, *, flush: bool = True) -> None:
        if flush:  # a clean stop (abort() passes flush=False)
            self._save_now()
        await super().stop(flush=flush)


class RunsWithoutItsPort(ReferenceAdapter):
    """When its gRPC port is taken, logs it and runs without the gRPC face instead of failing
    to start."""

    async def start(self) -> None:
        try:
            await super().start()
        except OSError:
            self.settings = self.settings.model_copy(update={"grpc_port": None})
            await super().start()


class KeepsPortsOfFailedStart(ReferenceAdapter):
    """When a later port cannot be bound, fails to start without releasing the faces it had
    already bound (it closes them a while later, from a task nobody awaits)."""

    async def start(self) -> None:
        try:
            await super().start()
        except OSError:
            self._late_close = asyncio.create_task(self._close_later(self._grpc_server))
            raise

    async def stop(self, *, flush: bool = True) -> None:
        if self._tasks or not self._started:  # a real stop, not the failed start's clean-up
            await super().stop(flush=flush)

    @staticmethod
    async def _close_later(server: Any) -> None:
        try:
            await asyncio.sleep(5)
        finally:
            if server is not None:
                await server.stop(None)


class FlushPostsCutShort(ReferenceAdapter):
    """At a clean stop, gives each analytics post at most 50 ms, however long the flush may
    take: an ingest slower than that never gets the buffered events."""

    async def _post_batch(self, batch: Batch[Event], timeout: float | None) -> bool:
        return await super()._post_batch(batch, None if timeout is None else min(timeout, 0.05))


def create_metrics_left_listening(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return MetricsLeftListening(_settings(settings))


def create_saves_state_only_at_stop(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return SavesStateOnlyAtStop(_settings(settings))


def create_runs_without_its_port(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return RunsWithoutItsPort(_settings(settings))


def create_keeps_ports_of_failed_start(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return KeepsPortsOfFailedStart(_settings(settings))


def create_flush_posts_cut_short(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return FlushPostsCutShort(_settings(settings))
