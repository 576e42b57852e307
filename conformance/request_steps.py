"""Request steps and ``eventually`` blocks: building the client request, sending it through
the data plane (noting late ext_authz answers), checking every response, and repeating until
the system converges."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import TYPE_CHECKING, Any

from conformance.checks import check_response
from conformance.results import Consistency, StepFailed
from reports import Mismatch
from scenarios.steps import EventuallyStep, RequestSpec, RequestStep
from simulator import ClientRequest, ClientResponse

if TYPE_CHECKING:
    from conformance.runner import ScenarioRun


async def run_request_step(run: ScenarioRun, step: RequestStep, name: str) -> None:
    """Send a step's request (``repeat`` times, ``concurrency`` at once) and check each answer."""
    request = build_request(run, step.request)
    semaphore = asyncio.Semaphore(step.concurrency)

    async def one() -> ClientResponse:
        async with semaphore:
            return await send(run, request)

    responses = await asyncio.gather(*(one() for _ in range(step.repeat)))
    if step.statuses is not None:
        tally = dict(sorted(Counter(r.status for r in responses).items()))
        if tally != dict(sorted(step.statuses.items())):
            raise StepFailed(
                f"the {len(responses)} responses had other statuses than expected",
                [Mismatch("statuses", dict(sorted(step.statuses.items())), tally)],
            )
    if step.expect is None:
        return
    expect = run.variables.substitute_model(step.expect)
    for i, response in enumerate(responses):
        mismatches = check_response(expect, response)
        if mismatches:
            which = f" (request {i + 1} of {len(responses)})" if len(responses) > 1 else ""
            raise StepFailed(f"the response did not match{which}", mismatches)
    for captured, source in step.capture.items():
        run.variables.set_capture(captured, capture(responses[-1], source))


def build_request(run: ScenarioRun, spec: RequestSpec) -> ClientRequest:
    """The client request a step describes, its ``${...}`` filled in."""
    data = run.variables.substitute(spec.model_dump(by_alias=True))
    authority = data["authority"]
    if authority is None:
        if data["api"] is None or data["api"] not in run.stack.services:
            known = ", ".join(run.stack.services)
            raise StepFailed(f"request.api {data['api']!r} names no API; known: {known}")
        authority = run.stack.services[data["api"]]
    headers: list[tuple[str, str]] = []
    for key, value in data["headers"].items():
        for item in value if isinstance(value, list) else [value]:
            headers.append((key, str(item)))
    body = (data["body"] or "").encode()
    if data["json"] is not None:
        import json

        body = json.dumps(data["json"]).encode()
        headers.append(("content-type", "application/json"))
    return ClientRequest(
        method=data["method"],
        path=data["path"],
        headers=headers,
        body=body,
        authority=authority,
        source_ip=data["source_ip"],
    )


async def send(run: ScenarioRun, request: ClientRequest) -> ClientResponse:
    """One request through the data plane, traced; a late ext_authz answer is noted."""
    response = await run.stack.envoy.handle(request)
    late_after = run.stack.late_after
    if late_after is not None and response.check_s > late_after:
        run.result.late_checks += 1
        run.result.slowest_check_s = max(run.result.slowest_check_s, response.check_s)
        run.note(
            "late",
            f"the adapter answered in {1000 * response.check_s:.0f}ms, over the"
            f" {1000 * late_after:.0f}ms ext_authz timeout (answer applied; Envoy would"
            " have answered status_on_error)",
        )
    run.note(
        "request",
        request_summary(request, response),
        authority=request.authority,
        status=response.status,
        decision=response.decision,
        upstream=response.upstream is not None,
    )
    return response


def request_summary(request: ClientRequest, response: ClientResponse) -> str:
    """One trace line for a request; an ext_authz error says why (the RPC status or timeout),
    so a failure under load shows whether the adapter was late, refused or reset."""
    why = f" ({response.detail[:200]})" if response.decision == "error" and response.detail else ""
    upstream = "upstream -> " if response.upstream is not None else ""
    return (
        f"client {request.method} {request.path} -> ext_authz {response.decision}{why}"
        f" -> {upstream}client {response.status} ({1000 * response.duration_s:.1f}ms)"
    )


async def run_eventually(run: ScenarioRun, step: EventuallyStep, name: str) -> None:
    """Repeat the inner steps until they hold ``consecutive`` times in a row, or fail at the
    deadline; records the time to consistency."""
    spec = step.eventually
    within = run.deadline(spec.within, spec.within_sync, spec.slack)
    loop = asyncio.get_running_loop()
    start = loop.time()
    streak, attempts, streak_start = 0, 0, 0.0
    last: StepFailed | None = None
    while True:
        attempts += 1
        attempt_start = loop.time()
        try:
            for inner in spec.steps:
                await run_request_step(run, inner, name)
        except StepFailed as exc:
            last, streak = exc, 0
            if loop.time() - start > within:
                raise StepFailed(
                    f"did not hold {spec.consecutive} times in a row within {within:g}s"
                    f" ({attempts} attempts); last attempt: {exc.message}",
                    exc.mismatches,
                ) from None
            await asyncio.sleep(spec.every)
            continue
        if streak == 0:
            streak_start = attempt_start
        streak += 1
        if streak >= spec.consecutive:
            seconds = round(streak_start - start, 4)
            run.result.consistency.append(Consistency(name, seconds, attempts))
            run.note("eventually", f"consistent after {seconds:g}s ({attempts} attempts)")
            return
        if loop.time() - start > within + spec.every * spec.consecutive:
            detail = last.message if last else "no streak"
            raise StepFailed(f"did not converge within {within:g}s: {detail}")


def capture(response: ClientResponse, source: str) -> Any:
    """A value a later step may use: the status, a header, or the body."""
    if source == "status":
        return response.status
    if source.startswith("headers."):
        name = source.removeprefix("headers.").lower()
        return next((v for k, v in response.headers if k.lower() == name), None)
    if source == "body":
        return response.body.decode("utf-8", errors="replace")
    raise StepFailed(f"capture source {source!r} is not one of status, headers.<name>, body")
