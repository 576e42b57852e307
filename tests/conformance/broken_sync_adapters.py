"""More deliberately broken variants of the reference adapter, each with one plausible bug in
how it reads the platform, keeps its state or counts: a 500 taken for a refusal, contracts
awaited by an API that uses none (or not awaited by an SLA API), a listed API served before its
policies, rate-limit windows that reopen wrongly, contracts kept across a deleted binding, the
event's own id as its transaction id, contract reads held back by a failing API list, analytics
posted at once after a refused batch, platform calls made before logging in, -1 request bytes for
a body-less request, policies it does not implement skipped, the configured back-off cap
ignored, a state cache written before the first sync, only the fake platform's own success
codes taken for successes, a new policy chain gated only from the next contracts read.
Factories as in `tests.conformance.broken_adapters`; the bugs of
starting, stopping and being killed are in `tests.conformance.broken_lifecycle_adapters`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from reference_adapter.adapter import ReferenceAdapter
from reference_adapter.contracts import SlaLimit
from reference_adapter.control_plane import ControlPlaneError
from reference_adapter.engine import NOT_READY, ApiState
from reference_adapter.policies.registry import REGISTRY, asset_id_of
from reference_adapter.windows import InMemoryWindows, WindowResult
from tests.conformance.broken_adapters import _settings


class ServerErrorAsRefusal(ReferenceAdapter):
    """Takes the platform's 500 for a refusal of its request (as if it were a 400), not for
    an outage: in strict mode it keeps serving while every sync fails."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        send = self.client._send

        async def refusal(method: str, url: str, **kwargs: Any) -> httpx.Response:
            response = await send(method, url, **kwargs)
            if response.status_code == 500:
                return httpx.Response(400, content=response.content, request=response.request)
            return response

        self.client._send = refusal  # type: ignore[method-assign]


class EveryApiAwaitsContracts(ReferenceAdapter):
    """Blocks every API until its contracts were read, even one whose policies use none."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        engine = self.engine
        refresh = engine._refresh_gate

        def refresh_awaiting_contracts(api: ApiState) -> None:
            refresh(api)
            if api.gate is None and not engine.contracts.loaded(api.api_id):
                api.gate = NOT_READY

        engine._refresh_gate = refresh_awaiting_contracts  # type: ignore[method-assign]


class SlaWithoutContracts(ReferenceAdapter):
    """Opens an SLA-limited API once its policies are read, before its contracts: a client
    whose contract it has not read yet gets 401 instead of 503."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        engine = self.engine
        refresh = engine._refresh_gate

        def refresh_ignoring_contracts(api: ApiState) -> None:
            refresh(api)
            if api.gate is NOT_READY and api.policies_loaded:
                api.gate = None

        engine._refresh_gate = refresh_ignoring_contracts  # type: ignore[method-assign]


class ListedApiOpenBeforePolicies(ReferenceAdapter):
    """Opens an API as soon as it is listed; only a failed sync or loaded policies close it
    again: an API whose policies the platform refuses (a 4xx, no outage) is served without
    them."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        engine = self.engine
        set_apis = engine.set_apis

        def set_apis_open(api_ids: Any, info: Any = None) -> list[str]:
            new = set_apis(api_ids, info)
            for api_id in new:
                state = engine.api(api_id)
                if state is not None and not state.policies_loaded:
                    state.gate = None
            return new

        engine.set_apis = set_apis_open  # type: ignore[method-assign]


class EventIdAsTransactionId(ReferenceAdapter):
    """Puts each event's own id in ``transaction_id`` instead of the request's x-request-id."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        build = self.events.build

        def own_id(*args: Any, **kwargs: Any) -> dict[str, Any]:
            event = build(*args, **kwargs)
            event["transaction_id"] = event["event_id"]
            return event

        self.events.build = own_id  # type: ignore[method-assign]


class UnknownSizeAsMinusOne(ReferenceAdapter):
    """Reports ``request_bytes: -1`` for a request without a body (as for a size it does not
    know) instead of 0."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        build = self.events.build

        def minus_one(*args: Any, **kwargs: Any) -> dict[str, Any]:
            event = build(*args, **kwargs)
            if not event["request_bytes"]:
                event["request_bytes"] = -1
            return event

        self.events.build = minus_one  # type: ignore[method-assign]


class SkipsUnknownPolicies(ReferenceAdapter):
    """Applies only the policies it implements and silently skips the others, so an API with
    a policy it does not know is served as if that policy were not there."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        load = self.engine.load_policies

        def load_known(
            api_id: str | int, policies: Sequence[Mapping[str, Any]], version: str | None = None
        ) -> str | None:
            known = [p for p in policies if asset_id_of(p) in REGISTRY]
            return load(api_id, known, version)

        self.engine.load_policies = load_known  # type: ignore[method-assign]


class IgnoresBackoffMax(ReferenceAdapter):
    """Takes ``sync_backoff_max`` and forgets it: failed syncs back off to its own default cap
    (the larger of the interval and 30 s), not to the configured one."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        for schedule in (self.policies_schedule, self.contracts_schedule):
            schedule.backoff_max_s = max(schedule.interval_s, 30.0)


class CachesBeforeFirstSync(ReferenceAdapter):
    """Writes its state cache as soon as it starts, before any sync: restarted during an
    outage it never got past, it enforces an empty API list (403) instead of answering 503."""

    async def start(self) -> None:
        await super().start()
        self.sync._save()


class ReopenedWindowsHalfLength(InMemoryWindows):
    """With several limits, a window that reopens lasts half its period (milliseconds divided
    by 2000 instead of 1000)."""

    def hit(self, key: str, limits: Sequence[SlaLimit], now: float) -> WindowResult:
        windows = self._windows.get(key)
        expired = (
            []
            if windows is None or len(limits) < 2 or len(windows) != len(limits)
            else [i for i, w in enumerate(windows) if now >= w[2]]
        )
        result = super().hit(key, limits, now)
        for i in expired:
            self._windows[key][i][2] = now + limits[i].period_ms / 2000.0
        return result


class WindowOpensOnce(InMemoryWindows):
    """A fixed window that opens again after its first period, and never after the second: its
    end was computed in the wrong unit when it reopened."""

    def __init__(self) -> None:
        super().__init__()
        self._reopened: set[str] = set()

    def hit(self, key: str, limits: Sequence[SlaLimit], now: float) -> WindowResult:
        windows = self._windows.get(key)
        if windows is not None and now >= windows[0][2]:
            if key in self._reopened:
                for window in windows:
                    window[2] = math.inf
            self._reopened.add(key)
        return super().hit(key, limits, now)


class ContractsKeptAcrossUnbinding(ReferenceAdapter):
    """Forgets an API that left the list but keeps its contracts and feed cursor: bound again,
    it is served from the contracts it held, before reading any change."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        apis = self.engine._apis

        def remove_keeping_contracts(api_id: str | int) -> None:
            apis.pop(str(api_id), None)

        self.engine.remove_api = remove_keeping_contracts  # type: ignore[method-assign]


class ContractsAwaitApiList(ReferenceAdapter):
    """Restores its APIs from the state cache but reads no contracts until the API list has
    been read again in this run: restarted during an API-list outage, it never learns of a
    contract approved meanwhile."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        restore = self.sync.restore

        def restore_without_contract_reads() -> bool:
            restore()
            return False  # so start() does not count the API list as read

        self.sync.restore = restore_without_contract_reads  # type: ignore[method-assign]


class PostsAtOnceAfterRefusal(ReferenceAdapter):
    """After the ingest refuses a batch for good, posts the next events at once instead of
    waiting for the next push interval."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        batcher = self.batcher
        rejected = batcher.on_rejected

        def rejected_due_now(batch: Any, now: float, reason: str = "rejected") -> None:
            rejected(batch, now, reason)
            batcher.next_flush = now

        batcher.on_rejected = rejected_due_now  # type: ignore[method-assign]


class CallsBeforeLogin(ReferenceAdapter):
    """Makes its first platform calls with a placeholder token and logs in only when they are
    refused with 401."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.client._token = "not-logged-in-yet"


class OnlyTheFakesSuccessCodes(ReferenceAdapter):
    """Takes only the answers the fake platform gives for successes: a keep-alive succeeds only
    with 204 (a 200 or 202 is retried as a failure), a batch is delivered only with 202 (a 200
    is a refusal: the batch is dropped and its events reported lost)."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        client = self.client
        send, post = client._send, client.post_analytics

        async def only_204_keepalives(method: str, url: str, **kwargs: Any) -> httpx.Response:
            response = await send(method, url, **kwargs)
            if url.endswith("/keepalive") and response.status_code != 204:
                return httpx.Response(500, content=response.content, request=response.request)
            return response

        async def only_202_batches(batch_id: str, events: Sequence[Mapping[str, Any]]) -> int:
            status = await post(batch_id, events)
            if status != 202:
                raise ControlPlaneError(f"batch {batch_id} answered {status}", status, False)
            return status

        client._send = only_204_keepalives  # type: ignore[method-assign]
        client.post_analytics = only_202_batches  # type: ignore[method-assign]


class PolicyChangeAwaitsContractsRead(ReferenceAdapter):
    """Loads a new policy chain without re-deciding the API's gate: the change (a policy it
    cannot enforce, say) shows only when a contracts read or a reachability change re-decides
    it."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        engine = self.engine
        load, refresh = engine.load_policies, engine._refresh_gate

        def load_without_gate(*args: Any, **kwargs: Any) -> str | None:
            engine._refresh_gate = lambda api: None  # type: ignore[method-assign]
            try:
                return load(*args, **kwargs)
            finally:
                engine._refresh_gate = refresh  # type: ignore[method-assign]

        engine.load_policies = load_without_gate  # type: ignore[method-assign]


def create_server_error_as_refusal(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return ServerErrorAsRefusal(_settings(settings))


def create_every_api_awaits_contracts(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return EveryApiAwaitsContracts(_settings(settings))


def create_window_opens_once(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return ReferenceAdapter(_settings(settings), shared_windows=WindowOpensOnce())


def create_contracts_kept_across_unbinding(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return ContractsKeptAcrossUnbinding(_settings(settings))


def create_sla_without_contracts(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return SlaWithoutContracts(_settings(settings))


def create_listed_api_open_before_policies(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return ListedApiOpenBeforePolicies(_settings(settings))


def create_event_id_as_transaction_id(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return EventIdAsTransactionId(_settings(settings))


def create_contracts_await_api_list(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return ContractsAwaitApiList(_settings(settings))


def create_posts_at_once_after_refusal(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return PostsAtOnceAfterRefusal(_settings(settings))


def create_calls_before_login(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return CallsBeforeLogin(_settings(settings))


def create_unknown_size_as_minus_one(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return UnknownSizeAsMinusOne(_settings(settings))


def create_skips_unknown_policies(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return SkipsUnknownPolicies(_settings(settings))


def create_ignores_backoff_max(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return IgnoresBackoffMax(_settings(settings))


def create_caches_before_first_sync(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return CachesBeforeFirstSync(_settings(settings))


def create_reopened_windows_half_length(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return ReferenceAdapter(_settings(settings), shared_windows=ReopenedWindowsHalfLength())


def create_only_the_fakes_success_codes(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return OnlyTheFakesSuccessCodes(_settings(settings))


def create_policy_change_awaits_contracts_read(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return PolicyChangeAwaitsContractsRead(_settings(settings))
