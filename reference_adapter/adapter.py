"""`ReferenceAdapter`: the live adapter. Thin asyncio loops drive the I/O-free cores
(`SyncSchedule`s, `AnalyticsBatcher`) against the control plane, and the gRPC and HTTP faces
answer Envoy from the `DecisionEngine`. A clean `stop` flushes every analytics event."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from common.clock import Clock, MonotonicClock
from reference_adapter.batcher import AnalyticsBatcher, Batch
from reference_adapter.cache import StateCache
from reference_adapter.control_plane import ControlPlaneClient, ControlPlaneError
from reference_adapter.engine import DecisionEngine
from reference_adapter.events import EventFactory
from reference_adapter.grpc_face import start_grpc_server
from reference_adapter.http_face import start_http_server
from reference_adapter.metrics import LossLog, registry_for, start_metrics_server
from reference_adapter.model import CheckInput, Decision
from reference_adapter.schedule import SyncSchedule
from reference_adapter.settings import ReferenceAdapterConfig
from reference_adapter.sync import Synchronizer
from reference_adapter.windows import WindowCounters

ADAPTER_VERSION = "0.1.0"
log = logging.getLogger("reference_adapter")

Event = dict[str, Any]


class ReferenceAdapter:
    """The reference adapter process, in-process. ``await start()`` binds the faces and starts
    syncing (requests get 503 until the first sync, gatekeeper permitting); ``await stop()``
    stops syncing, closes the faces and flushes analytics."""

    def __init__(
        self,
        settings: ReferenceAdapterConfig,
        *,
        clock: Clock | None = None,
        shared_windows: WindowCounters | None = None,
    ) -> None:
        """``shared_windows``: rate-limit counters shared with other replicas in this process
        (``redis_url`` shares them across processes instead). Long because it wires every part
        from the settings in one place, in the order they depend on each other."""
        self.settings = settings
        self.clock: Clock = clock or MonotonicClock()
        seed = settings.seed
        self.rng = random.Random(seed) if seed is not None else random.Random()
        self.redis_windows: Any = None
        if settings.redis_url:
            from reference_adapter.redis_windows import RedisWindows

            self.redis_windows = RedisWindows.from_url(settings.redis_url)
        self.engine = DecisionEngine(
            settings.gatekeeper,
            shared_windows=self.redis_windows if self.redis_windows is not None else shared_windows,
            epoch_offset=self.clock.wall() - self.clock.now(),
            rng=self.rng,
        )
        self.engine.jwks.listener = lambda: self._poke("jwks")
        self.client = ControlPlaneClient(
            settings.platform_url,
            settings.ingest_url,
            settings.client_id,
            settings.client_secret,
            settings.org_id,
            settings.env_id,
            timeout_s=settings.request_timeout,
        )
        self.sync = Synchronizer(
            self.client,
            self.engine,
            adapter_id=settings.adapter_id,
            version=ADAPTER_VERSION,
            cache=StateCache(settings.cache_dir) if settings.cache_dir else None,
        )
        now = self.clock.now()

        def schedule(interval: float) -> SyncSchedule:
            return SyncSchedule(
                interval,
                self.rng,
                start=now,
                backoff_base_s=settings.sync_backoff_base,
                backoff_max_s=settings.sync_backoff_max,
            )

        self.policies_schedule = schedule(settings.policies_interval)
        self.contracts_schedule = schedule(settings.contracts_interval)
        self.keepalive_schedule = schedule(settings.keepalive_interval)
        self.batcher: AnalyticsBatcher[Event] = AnalyticsBatcher(
            self.rng,
            interval_s=settings.analytics_interval,
            batch_size=settings.analytics_batch_size,
            capacity=settings.analytics_buffer,
            retry_base_s=settings.analytics_retry_base,
            retry_max_s=settings.analytics_retry_max,
            start=now,
        )
        self.events = EventFactory(settings.org_id, settings.adapter_id, self.rng)
        self.loss_log = LossLog(self.clock, log)
        self.metrics = registry_for(self.batcher)
        self._metrics_runner: Any = None
        self._metrics_port: int | None = None
        self._undelivered_at_stop = 0
        self.last_errors: dict[str, str] = {}
        self._wake: dict[str, asyncio.Event] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._grpc_server: grpc.aio.Server | None = None
        self._http_runner: Any = None
        self._grpc_port: int | None = None
        self._http_port: int | None = None
        self._started = False

    # ---- faces ----

    @property
    def grpc_port(self) -> int | None:
        """The bound gRPC port (None when the gRPC face is off or not started)."""
        return self._grpc_port

    @property
    def http_port(self) -> int | None:
        """The bound HTTP service-mode port (None when off or not started)."""
        return self._http_port

    @property
    def metrics_port(self) -> int | None:
        """The bound Prometheus metrics port (None when off or not started)."""
        return self._metrics_port

    @property
    def lost_events(self) -> int:
        """Analytics events that will never reach the ingest: dropped with a full buffer,
        refused by the ingest, and (once stopped) still undelivered."""
        stats = self.batcher.stats
        return stats.dropped + stats.rejected + self._undelivered_at_stop

    async def handle(self, request: CheckInput) -> Decision:
        """Decide one request and record its analytics event (what both faces call)."""
        received = self.clock.wall()
        engine = self.engine
        if engine.needs_async(request.api_id):
            decision = await engine.decide_async(request, self.clock.now())
        else:
            decision = engine.decide(request, self.clock.now())
        if decision.delay_s > 0:  # spike control queued the request
            await asyncio.sleep(decision.delay_s)
        api = engine.api(request.api_id)
        version_id = api.info.get("versionId") if api is not None else None
        event = self.events.build(
            request,
            decision,
            received,
            self.clock.wall(),
            str(version_id) if version_id is not None else None,
        )
        if not self.batcher.add(event):
            self.loss_log.dropped(self.batcher.held, self.last_errors.get("analytics", ""))
        elif self.batcher.buffered == 1 or self.batcher.buffered >= self.batcher.batch_size:
            self._poke("analytics")
        return decision

    # ---- lifecycle ----

    async def start(self) -> None:
        if self._started:
            raise RuntimeError("ReferenceAdapter.start() called twice")
        self._started = True
        settings = self.settings
        if self.sync.restore():
            self.sync.apis_loaded = True
        if settings.gatekeeper == "strict":
            self.engine.set_reachable(False)
        try:
            if settings.grpc_port is not None:
                self._grpc_server, self._grpc_port = await start_grpc_server(
                    self.handle, settings.grpc_port, settings.host
                )
            if settings.http_port is not None:
                self._http_runner, self._http_port = await start_http_server(
                    self.handle, settings.http_port, settings.host, settings.http_path_prefix
                )
            if settings.metrics_port is not None:
                self._metrics_runner, self._metrics_port = await start_metrics_server(
                    self.metrics, settings.metrics_port, settings.host
                )
        except BaseException:
            await self.stop()  # release what was bound, then report the bind error
            raise
        for name in ("policies", "contracts", "keepalive", "analytics", "jwks"):
            self._wake[name] = asyncio.Event()
        self._tasks = [
            asyncio.create_task(
                self._sync_loop("policies", self.policies_schedule, self._sync_policies)
            ),
            asyncio.create_task(
                self._sync_loop("contracts", self.contracts_schedule, self._sync_contracts)
            ),
            asyncio.create_task(
                self._sync_loop("keepalive", self.keepalive_schedule, self.sync.keepalive)
            ),
            asyncio.create_task(self._analytics_loop()),
            asyncio.create_task(self._jwks_loop()),
        ]
        log.info(
            "reference adapter started: grpc=%s http=%s metrics=%s gatekeeper=%s",
            self._grpc_port,
            self._http_port,
            self._metrics_port,
            settings.gatekeeper,
        )

    async def abort(self) -> None:
        """What SIGKILL does to the adapter's process: stop at once; buffered analytics events
        are lost (chaos runs of in-process adapters)."""
        await self.stop(flush=False)

    async def stop(self, *, flush: bool = True) -> None:
        """Stop syncing and the faces, then post every buffered analytics event (bounded by
        ``stop_flush_timeout``); every event lost in the adapter's life is logged, by cause.
        ``flush=False`` drops the buffered ones instead (`abort`), and counts them lost."""
        if not self._started:
            return
        self._started = False
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._grpc_server is not None:
            await self._grpc_server.stop(grace=0.5)
            self._grpc_server = None
        if self._http_runner is not None:
            await self._http_runner.cleanup()
            self._http_runner = None
        if flush:
            self._undelivered_at_stop = await self.flush_analytics(self.settings.stop_flush_timeout)
        else:
            self._undelivered_at_stop = self.batcher.held
        self.loss_log.at_stop(self.batcher.stats, self._undelivered_at_stop)
        if self._metrics_runner is not None:
            await self._metrics_runner.cleanup()
            self._metrics_runner = None
        await self.client.aclose()
        if self.redis_windows is not None:
            await self.redis_windows.aclose()

    async def wait_ready(self, timeout_s: float = 10.0) -> None:
        """Wait until every known API passes the gatekeeper (TimeoutError otherwise)."""

        async def poll() -> None:
            while not (self.sync.apis_loaded and self.engine.ready()):
                await asyncio.sleep(0.01)

        async with asyncio.timeout(timeout_s):
            await poll()

    async def flush_analytics(self, timeout_s: float) -> int:
        """Post buffered events now, ignoring the push interval; returns how many are left."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self.batcher.held and loop.time() < deadline:
            batch = self.batcher.take(self.clock.now(), force=True)
            if batch is None:
                break
            ok = await self._post_batch(batch, timeout=max(0.05, deadline - loop.time()))
            if not ok:
                await asyncio.sleep(min(0.2, max(0.0, deadline - loop.time())))
        return self.batcher.held

    # ---- loops ----

    def _poke(self, name: str) -> None:
        event = self._wake.get(name)
        if event is not None:
            event.set()

    async def _sleep(self, name: str, seconds: float) -> None:
        event = self._wake[name]
        if seconds > 0:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(None if seconds == float("inf") else seconds):
                    await event.wait()
        event.clear()

    async def _sync_policies(self) -> None:
        new = await self.sync.sync_policies()
        if new:
            self.contracts_schedule.trigger(self.clock.now())
            self._poke("contracts")
            self._poke("keepalive")

    async def _sync_contracts(self) -> None:
        if not self.sync.apis_loaded:
            return
        await self.sync.sync_contracts()

    async def _sync_loop(
        self, name: str, schedule: SyncSchedule, step: Callable[[], Awaitable[None]]
    ) -> None:
        while True:
            if schedule.is_due(self.clock.now()):
                if name == "contracts" and not self.sync.apis_loaded:
                    await self._sleep(name, 0.05)
                    continue
                try:
                    await step()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # every failure backs off; none kills the loop
                    schedule.on_failure(self.clock.now())
                    self.last_errors[name] = str(exc)
                    if name != "keepalive" and _unreachable(exc):
                        self.engine.set_reachable(False)
                    log.warning(
                        "%s sync failed (%d in a row, next in %.1fs): %s",
                        name,
                        schedule.failures,
                        schedule.delay(self.clock.now()),
                        exc,
                    )
                else:
                    schedule.on_success(self.clock.now())
                    self.last_errors.pop(name, None)
                    if name != "keepalive":
                        self.engine.set_reachable(True)
            await self._sleep(name, schedule.delay(self.clock.now()))

    async def _analytics_loop(self) -> None:
        while True:
            now = self.clock.now()
            batch = self.batcher.take(now)
            if batch is not None:
                await self._post_batch(batch, timeout=None)
                continue
            await self._sleep("analytics", max(0.0, self.batcher.next_due() - now))

    async def _jwks_loop(self) -> None:
        jwks = self.engine.jwks
        while True:
            for source in jwks.due(self.clock.now()):
                try:
                    document = await self.client.get_jwks(source.url, source.timeout_s)
                except ControlPlaneError as exc:
                    jwks.failed(source.url, self.clock.now(), str(exc))
                    log.warning("JWKS %s: %s", source.url, exc)
                    continue
                try:
                    jwks.install(source.url, document, self.clock.now())
                except ValueError as exc:  # install() already counted the failure
                    log.warning("JWKS %s: %s", source.url, exc)
            await self._sleep("jwks", jwks.next_due() - self.clock.now())

    async def _post_batch(self, batch: Batch[Event], timeout: float | None) -> bool:
        try:
            async with asyncio.timeout(timeout):
                await self.client.post_analytics(batch.batch_id, batch.events)
        except asyncio.CancelledError:
            self.batcher.on_failure(batch, self.clock.now())
            raise
        except ControlPlaneError as exc:
            if exc.retryable:
                self.batcher.on_failure(batch, self.clock.now())
            else:
                self.batcher.on_rejected(batch, self.clock.now(), f"status {exc.status}")
            self.last_errors["analytics"] = str(exc)
            log.warning("analytics batch %s: %s", batch.batch_id, exc)
            return False
        except TimeoutError:
            self.batcher.on_failure(batch, self.clock.now())
            return False
        self.batcher.on_success(batch, self.clock.now())
        self.last_errors.pop("analytics", None)
        return True


def _unreachable(exc: Exception) -> bool:
    if isinstance(exc, ControlPlaneError):
        return exc.status is None or exc.status >= 500
    return False
