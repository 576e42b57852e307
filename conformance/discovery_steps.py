"""Discovery steps of a scenario: ``api_instance`` (an API instance's asset type, bound
services and keep-alive status, polled until it matches or the deadline passes) and ``adapter``
(``adapters``: stop or start every adapter replica, so a scenario can watch the status follow)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from conformance.results import StepFailed
from fake_anypoint import NotFoundError
from fake_anypoint.discovery import InstanceSummary, summary
from reports import Mismatch
from scenarios.steps import AdapterStep, ApiInstanceExpect, ApiInstanceStep

if TYPE_CHECKING:
    from conformance.runner import ScenarioRun

POLL_S = 0.05


def _mismatches(expect: ApiInstanceExpect, got: InstanceSummary) -> list[Mismatch]:
    out = []
    if expect.status is not None and got.status != expect.status:
        out.append(Mismatch("status", expect.status, got.status))
    if expect.asset_type is not None and got.asset_type != expect.asset_type:
        out.append(Mismatch("asset_type", expect.asset_type, got.asset_type))
    missing = [s for s in expect.services if s not in got.services]
    if missing:
        out.append(Mismatch("services", sorted(expect.services), sorted(got.services)))
    return out


async def run_api_instance(run: ScenarioRun, step: ApiInstanceStep) -> None:
    """Poll the instance until it matches (StepFailed with the last difference otherwise).
    Without a deadline it is checked once."""
    expect = run.variables.substitute_model(step.api_instance)
    api_id = run.stack.seed.apis.get(expect.api)
    if api_id is None:
        known = ", ".join(sorted(run.stack.seed.apis)) or "none"
        raise StepFailed(f"api_instance.api {expect.api!r} names no API; known: {known}")
    timed = expect.within is not None or expect.within_sync is not None
    within = (
        run.deadline(expect.within, expect.within_sync, expect.slack, expect.intervals)
        if timed
        else 0.0
    )
    loop = asyncio.get_running_loop()
    start = loop.time()
    while True:
        try:
            got = summary(run.stack.state, api_id)
        except NotFoundError:
            raise StepFailed(f"API {expect.api} (id {api_id}) no longer exists") from None
        found = _mismatches(expect, got)
        if not found:
            seconds = round(loop.time() - start, 4)
            run.note("api_instance", f"API {expect.api} is {got.status} after {seconds:g}s")
            return
        if loop.time() - start >= within:
            wait = f" within {within:g}s" if timed else ""
            first = found[0]
            raise StepFailed(
                f"API {expect.api} (id {api_id}) did not show {first.field} "
                f"{first.expected!r}{wait}: it shows {first.actual!r}",
                found,
            )
        await asyncio.sleep(POLL_S)


async def run_adapter(run: ScenarioRun, step: AdapterStep) -> None:
    """Stop (gracefully, within ``within`` when given), kill or start every adapter replica; a
    stopped or killed in-process replica must have released its ports
    (`RunningAdapter.still_listening`)."""
    replicas = run.stack.replicas
    indexes = list(range(len(replicas.members)))
    loop = asyncio.get_running_loop()
    overran, listening = [], []
    if step.port_taken is not None:
        await _start_with_port_taken(run, step.port_taken)
        return
    for index in indexes:
        if step.adapters == "start":
            await replicas.start(index)
            continue
        began = loop.time()
        adapter = replicas.members[index].adapter
        kill = step.adapters == "kill"
        if not await replicas.stop(index, kill=kill, within=step.within):
            overran.append(f"replica {index + 1} ({loop.time() - began:.1f}s, then killed)")
        if adapter is not None and adapter.still_listening:
            ports = ", ".join(f"127.0.0.1:{p}" for p in adapter.still_listening)
            listening.append(f"replica {index + 1} still listens on {ports}")
    run.note("adapters", f"{len(indexes)} adapter replica(s): {step.adapters}")
    if listening:
        raise StepFailed(
            f"an in-process adapter did not release its ports ({step.adapters}): "
            + "; ".join(listening),
            [
                Mismatch(
                    "adapters.ports",
                    "every port the adapter listened on free once its stop() or abort() returned",
                    "; ".join(listening),
                )
            ],
        )
    if overran and step.within is not None:
        raise StepFailed(
            f"a clean stop did not end within {step.within:g}s: {', '.join(overran)}",
            [
                Mismatch(
                    "adapters.within",
                    f"every replica stopped within {step.within:g}s of its stop signal",
                    "; ".join(overran),
                )
            ],
        )


async def _start_with_port_taken(run: ScenarioRun, taken: str) -> None:
    """Start each stopped replica with its ``taken`` port held by the kit: the start must fail
    cleanly (`ReplicaSet.start_refused`); the step fails with what each replica did wrong."""
    replicas = run.stack.replicas
    wrong = []
    for member in replicas.members:
        if member.adapter is not None:
            raise StepFailed(f"replica {member.index + 1} is running: give `adapters: stop` first")
        refusal = await replicas.start_refused(member.index, taken)
        said = refusal.said.splitlines()[0] if refusal.said else "nothing"
        run.note("adapters", f"replica {member.index + 1}, its {taken} port taken: said {said}")
        wrong += [f"replica {member.index + 1}: {w}" for w in refusal.wrong]
    if wrong:
        raise StepFailed(
            f"an adapter whose {taken} port was taken did not refuse to start cleanly: "
            + "; ".join(wrong),
            [
                Mismatch(
                    "adapters.port_taken",
                    "the start fails (an exception, or the process exits) and frees every other"
                    " port it was handed",
                    "; ".join(wrong),
                )
            ],
        )
