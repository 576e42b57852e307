"""More deliberately broken variants of the reference adapter, each with one plausible bug in
how it reads the platform or keeps its state: a 500 taken for a refusal, contracts awaited by
an API that uses none, a rate-limit window that opens only once, contracts kept across a
deleted binding. Factories as in `tests.conformance.broken_adapters`."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from reference_adapter.adapter import ReferenceAdapter
from reference_adapter.contracts import SlaLimit
from reference_adapter.engine import NOT_READY, ApiState
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


def create_server_error_as_refusal(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return ServerErrorAsRefusal(_settings(settings))


def create_every_api_awaits_contracts(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return EveryApiAwaitsContracts(_settings(settings))


def create_window_opens_once(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return ReferenceAdapter(_settings(settings), shared_windows=WindowOpensOnce())


def create_contracts_kept_across_unbinding(settings: Mapping[str, Any]) -> ReferenceAdapter:
    return ContractsKeptAcrossUnbinding(_settings(settings))
