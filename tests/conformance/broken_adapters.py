"""Deliberately broken variants of the reference adapter, each with one classic bug. The
conformance suite must fail every one of them, on the scenario that covers that bug.

Each ``create_*`` is an ``in_process`` factory (``settings mapping -> adapter``), so a profile
can name it exactly like the bundled one names ``reference_adapter.launch:create_adapter``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from reference_adapter.adapter import ReferenceAdapter
from reference_adapter.cache import FORMAT as CACHE_FORMAT
from reference_adapter.cache import StateCache
from reference_adapter.contracts import SlaLimit
from reference_adapter.control_plane import ControlPlaneError
from reference_adapter.model import CheckInput, Decision
from reference_adapter.settings import ReferenceAdapterConfig
from reference_adapter.windows import InMemoryWindows, WindowResult


def _settings(settings: Mapping[str, Any], **override: Any) -> ReferenceAdapterConfig:
    return ReferenceAdapterConfig.model_validate({**settings, **override})


class WrongStatus(ReferenceAdapter):
    """Answers 403 where 401 is due (a bad credential is not a forbidden request)."""

    async def handle(self, request: CheckInput) -> Decision:
        decision = await super().handle(request)
        if not decision.allowed and decision.status == 401:
            decision.status = 403
        return decision


class FailOpenInOutage(ReferenceAdapter):
    """Lets every request through while the control plane cannot be reached."""

    async def handle(self, request: CheckInput) -> Decision:
        if "policies" in self.last_errors or "contracts" in self.last_errors:
            return Decision(request.api_id)
        return await super().handle(request)


class OffByOneWindow(ReferenceAdapter):
    """Lets one request too many through a rate-limit window (``<=`` instead of ``<``)."""

    forgiven = False

    async def handle(self, request: CheckInput) -> Decision:
        decision = await super().handle(request)
        if not decision.allowed and decision.status == 429 and not self.forgiven:
            self.forgiven = True
            return Decision(request.api_id)
        return decision


class RevokedHonouredForever(ReferenceAdapter):
    """Ignores ``removed`` items of the incremental contracts feed: a revoked contract keeps
    working until the adapter restarts."""

    def __init__(self, settings: ReferenceAdapterConfig) -> None:
        super().__init__(settings)
        apply = self.engine.apply_contract_changes

        def keep_removed(
            api_id: str | int, items: Iterable[Mapping[str, Any]], cursor: str | None
        ) -> None:
            apply(api_id, [i for i in items if not i.get("removed")], cursor)

        self.engine.apply_contract_changes = keep_removed  # type: ignore[method-assign]


class AnalyticsDroppedOnRetry(ReferenceAdapter):
    """Throws a batch away when its post fails instead of retrying it."""

    def __init__(self, settings: ReferenceAdapterConfig) -> None:
        super().__init__(settings)
        batcher = self.batcher

        def drop(batch: Any, now: float) -> float:
            batcher.on_rejected(batch, now, "dropped by a buggy adapter")
            return 0.0

        batcher.on_failure = drop  # type: ignore[method-assign]


class NewBatchIdOnRetry(ReferenceAdapter):
    """Posts a retried batch under a new batch id, so a batch whose answer was lost arrives
    twice as far as the ingest can tell."""

    def __init__(self, settings: ReferenceAdapterConfig) -> None:
        super().__init__(settings)
        post = self.client.post_analytics

        async def fresh_id(batch_id: str, events: Sequence[Mapping[str, Any]]) -> int:
            return await post(str(uuid.uuid4()), events)

        self.client.post_analytics = fresh_id  # type: ignore[method-assign]


class SlidingWindows(InMemoryWindows):
    """Counts requests in a sliding window (the last period) instead of fixed windows."""

    def __init__(self) -> None:
        super().__init__()
        self._log: dict[str, list[list[float]]] = {}

    def hit(self, key: str, limits: Sequence[SlaLimit], now: float) -> WindowResult:
        logs = self._log.setdefault(key, [[] for _ in limits])
        for limit, log in zip(limits, logs, strict=True):
            log[:] = [t for t in log if t > now - limit.period_ms / 1000.0]
        allowed = all(
            len(log) < lim.maximum_requests for lim, log in zip(limits, logs, strict=True)
        )
        if allowed:
            for log in logs:
                log.append(now)
        remaining = min(
            lim.maximum_requests - len(log) for lim, log in zip(limits, logs, strict=True)
        )
        return WindowResult(allowed, limits[0].maximum_requests, max(0, remaining), 0)


class BootAlignedWindows(InMemoryWindows):
    """Fixed windows counted from when the adapter started, not from a key's first request."""

    def __init__(self) -> None:
        super().__init__()
        self.origin = time.monotonic()
        self._counts: dict[tuple[str, int, int], int] = {}

    def hit(self, key: str, limits: Sequence[SlaLimit], now: float) -> WindowResult:
        slots = [
            (key, i, int((now - self.origin) // (lim.period_ms / 1000.0)))
            for i, lim in enumerate(limits)
        ]
        counts = [self._counts.get(slot, 0) for slot in slots]
        allowed = all(n < lim.maximum_requests for n, lim in zip(counts, limits, strict=True))
        if allowed:
            for slot in slots:
                self._counts[slot] = self._counts.get(slot, 0) + 1
        return WindowResult(allowed, limits[0].maximum_requests, 0, 0)


def create_sliding_window(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return ReferenceAdapter(_settings(settings), shared_windows=SlidingWindows())


def create_boot_aligned_window(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return ReferenceAdapter(_settings(settings), shared_windows=BootAlignedWindows())


def create_wrong_status(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return WrongStatus(_settings(settings))


def create_fail_open_in_outage(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return FailOpenInOutage(_settings(settings))


def create_off_by_one_window(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return OffByOneWindow(_settings(settings))


def create_revoked_honoured_forever(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return RevokedHonouredForever(_settings(settings))


def create_analytics_dropped_on_retry(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return AnalyticsDroppedOnRetry(_settings(settings))


def create_new_batch_id_on_retry(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return NewBatchIdOnRetry(_settings(settings))


def create_no_gatekeeper(settings: Mapping[str, Any]) -> ReferenceAdapter:
    """Ignores the gatekeeper setting: serves before its first sync."""
    return ReferenceAdapter(_settings(settings, gatekeeper="disabled"))


class SilentDrops(ReferenceAdapter):
    """Drops events when its buffer is full without counting them: the loss is invisible
    (the reference adapter's own bug once: 4,001 of 5,001 events gone, nothing said)."""

    def __init__(self, settings: ReferenceAdapterConfig) -> None:
        super().__init__(settings)
        add = self.batcher.add

        def add_uncounted(event: Any) -> bool:
            kept = add(event)
            if not kept:
                self.batcher.stats.dropped -= 1
            return kept

        self.batcher.add = add_uncounted  # type: ignore[method-assign]


def create_silent_drops(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return SilentDrops(_settings(settings))


class KeepsItsFirstToken(ReferenceAdapter):
    """Logs in once and never again: once its token expires (an hour after start on the real
    platform) every sync and every analytics post is refused with 401, for good."""

    def __init__(self, settings: ReferenceAdapterConfig) -> None:
        super().__init__(settings)
        login = self.client.login
        first: list[str] = []

        async def once() -> str:
            if not first:
                first.append(await login())
            return first[0]

        self.client.login = once  # type: ignore[method-assign]


def create_keeps_its_first_token(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return KeepsItsFirstToken(_settings(settings))


def create_hammering_sync(settings: Mapping[str, Any]) -> ReferenceAdapter:
    """Retries a failed sync every 50 ms, without backing off: it hammers the platform through
    an outage (and a rate-limited platform answers 503 all the longer)."""
    return ReferenceAdapter(_settings(settings, sync_backoff_base=0.05, sync_backoff_max=0.05))


def create_hammering_analytics(settings: Mapping[str, Any]) -> ReferenceAdapter:
    """Retries a failed analytics post every 50 ms, without backing off."""
    return ReferenceAdapter(
        _settings(settings, analytics_retry_base=0.05, analytics_retry_max=0.05)
    )


class KeepaliveSuccessAsFailure(ReferenceAdapter):
    """Takes a keep-alive answered 204 for a failure: the keep-alive arrived, but the adapter
    backs off as after a failure and sends the next ones far sooner than its interval."""

    def __init__(self, settings: ReferenceAdapterConfig) -> None:
        super().__init__(settings)
        send = self.sync.keepalive

        async def keepalive_then_fail() -> None:
            await send()
            if self.engine.api_ids():
                raise ControlPlaneError("POST keepalive answered 204", 204)

        self.sync.keepalive = keepalive_then_fail  # type: ignore[method-assign]


def create_keepalive_success_as_failure(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return KeepaliveSuccessAsFailure(_settings(settings))


class AnyCacheIsItsOwn(StateCache):
    """Reads any JSON object in its cache file as its own state, a missing key as empty: a
    cache of another version becomes an empty API list, enforced at once."""

    def load(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None


def create_reads_any_cache(settings: Mapping[str, Any]) -> ReferenceAdapter:
    adapter = ReferenceAdapter(_settings(settings))
    if adapter.sync.cache is not None:
        adapter.sync.cache = AnyCacheIsItsOwn(adapter.sync.cache.dir)
    return adapter


class CacheDirNeverMade(StateCache):
    """Writes its cache into the directory it was given, never making that directory: once
    the directory is gone, every save fails (and is only logged)."""

    def save(self, state: dict[str, Any]) -> None:
        self.path.write_text(json.dumps({"format": CACHE_FORMAT, **state}))


def create_cache_dir_never_made(settings: Mapping[str, Any]) -> ReferenceAdapter:
    adapter = ReferenceAdapter(_settings(settings))
    if adapter.sync.cache is not None:
        adapter.sync.cache = CacheDirNeverMade(adapter.sync.cache.dir)
    return adapter


def create_full_contract_reads(settings: Mapping[str, Any]) -> ReferenceAdapter:
    """Reads each API's whole contracts snapshot at every sync: it drops the feed's cursor."""
    adapter = ReferenceAdapter(_settings(settings))
    read = adapter.client.get_contracts

    async def from_the_start(api_id: str, cursor: str | None, limit: int | None = None) -> Any:
        return await read(api_id, None, limit)

    adapter.client.get_contracts = from_the_start  # type: ignore[method-assign]
    return adapter


class FlushesForever(ReferenceAdapter):
    """A clean stop keeps posting its buffered events until they are delivered, however long
    the ingest stays down: a pod stuck terminating until Kubernetes kills it."""

    async def flush_analytics(self, timeout_s: float) -> int:
        while self.batcher.held:
            await super().flush_analytics(1.0)
        return 0

    async def abort(self) -> None:
        """Killed during that stop: close what the interrupted stop left open (a process
        would have lost it all)."""
        if self._metrics_runner is not None:
            await self._metrics_runner.cleanup()
            self._metrics_runner = None
        await self.client.aclose()


def create_flushes_forever(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return FlushesForever(_settings(settings))
