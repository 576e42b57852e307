"""The simulated Envoy's two gRPC ext_authz clients give the same verdicts: every gRPC case of
the differential library (allowed, denied, error responses, timeouts, RPC errors, retry
policies, a dead adapter) observed through grpc.aio and through the kit's own HTTP/2 client
(`simulator.h2_grpc`) must agree on what the adapter, the client and the upstream saw."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace

import pytest

from simulator import ClientRequest, EchoUpstream, EnvoySettings, ScriptedAdapter, SimulatedEnvoy
from tests.simulator.diff_model import ROUTES, Case
from tests.simulator.differential import Observation, _observe, cases
from tests.simulator.helpers import AUTHORITY, late_settings_proxy

GRPC_CASES = [c for c in cases() if c.transport == "grpc"]


def _id(case: Case) -> str:
    return re.sub(r"[^a-z0-9]+", "-", case.behaviour.lower()).strip("-")


async def _both(case: Case) -> dict[str, tuple[Observation, str, float | None]]:
    adapter = ScriptedAdapter()
    echo = EchoUpstream()
    await adapter.start()
    await echo.start()
    out: dict[str, tuple[Observation, str, float | None]] = {}
    try:
        for client in ("grpcio", "asmkit"):
            settings = replace(
                case.settings, authz_port=1 if case.dead_adapter else adapter.grpc_port
            )
            delays = [case.delay_s]
            if not any(delays) and settings.retry_policy is None:
                # not a timing case: a busy machine must not turn its answer into a timeout
                settings = replace(settings, timeout_ms=max(settings.timeout_ms, 5000))
            sim = SimulatedEnvoy(settings, echo.url, list(ROUTES), echo=echo, grpc_client=client)
            async with sim:
                echo._answers.clear()
                if case.upstream_answer:
                    echo.answer(case.request.path.partition("?")[0], *case.upstream_answer)
                observed = await _observe(sim, adapter, echo, case)
                left = adapter.grpc_deadlines[0] if adapter.grpc_deadlines else None
                detail = (await sim.handle(case.request)).detail
            out[client] = (observed, detail, left)
    finally:
        await echo.stop()
        await adapter.stop()
    return out


@pytest.mark.parametrize("case", GRPC_CASES, ids=_id)
def test_own_client_observes_what_grpcio_does(case: Case) -> None:
    got = asyncio.run(asyncio.wait_for(_both(case), 60))
    (aio, aio_detail, aio_left), (own, own_detail, own_left) = got["grpcio"], got["asmkit"]
    budget = case.settings.timeout_ms / 1000.0
    for observed, left in ((aio, aio_left), (own, own_left)):
        # how much of the deadline was left when the call arrived depends on the machine's
        # load (the differential suite allows 0.1 s): here it must be announced, within the
        # budget (grpc.aio's grpc-timeout may round a long one up to the next second)
        if observed.check is not None:
            del observed.check["call"]["deadline_ok"]
            assert left is not None and 0 < left <= max(budget, 5.0) + 1.01, left
    assert own.as_dict() == aio.as_dict()
    # an error names the same gRPC status ("rpc UNAVAILABLE: ...")
    assert own_detail.split(":")[0] == aio_detail.split(":")[0], (own_detail, aio_detail)


@pytest.mark.parametrize("client", ["grpcio", "asmkit"])
def test_adapter_slow_to_send_settings_is_waited_for(client: str) -> None:
    """Envoy sends its check without waiting for the adapter's SETTINGS frame (see the real
    Envoy twin in test_real_envoy.py): a handshake answered after 0.5 s is no error."""

    async def main() -> str:
        adapter, echo = ScriptedAdapter(), EchoUpstream()
        await adapter.start()
        await echo.start()
        proxy = await late_settings_proxy(adapter.grpc_port, 0.5)
        port = proxy.sockets[0].getsockname()[1]
        try:
            settings = EnvoySettings(timeout_ms=5000, authz_port=port)
            sim = SimulatedEnvoy(settings, echo.url, list(ROUTES), echo=echo, grpc_client=client)
            async with sim:
                got = await sim.handle(ClientRequest(path="/orders/1", authority=AUTHORITY))
            return f"{got.status} {got.decision} {got.detail}".strip()
        finally:
            proxy.close()
            await echo.stop()
            await adapter.stop()

    assert asyncio.run(asyncio.wait_for(main(), 30)) == "200 allowed"
