"""Pacing: counting the adapter's calls to the control plane for one kind of data in a window
(during a named fault, between two named steps, since one, or since the start) from the fake's
journal, waiting for them when the step gives a deadline, and the mismatch, with every call as
evidence, when the count is out of its bounds or a retry came before its back-off allowed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from conformance.results import StepFailed
from fake_anypoint import ActiveFault, JournalEntry
from reports import Mismatch
from scenarios.expectations import PlatformCallsExpect
from scenarios.steps import PlatformCallsStep

if TYPE_CHECKING:
    from conformance.runner import ScenarioRun

POLL_S = 0.05
"""How often a waiting step reads the journal again."""
EVIDENCE_LIMIT = 60
"""The most calls listed in a failure (the count is always complete)."""
MESSAGE_TIMES = 12
"""The most call times in a failure's one-line message (the mismatch lists more)."""


@dataclass(frozen=True, slots=True)
class Window:
    """A span on the control plane's clock; ``note`` says where it came from, or why it is
    empty (``start is None``: the fault never fired)."""

    start: float | None
    end: float
    note: str


def fault_window(
    name: str, faults: list[ActiveFault], journal: list[JournalEntry], now: float
) -> Window:
    """The outage the adapter met: from the first request the latest fault called ``name``
    answered to its end (or ``now`` while it lasts)."""
    fault = next((f for f in reversed(faults) if f.spec.name == name), None)
    if fault is None:  # the loader checks names; a fault of the stack's own is not named
        return Window(None, now, "no such fault was added")
    end = fault.end if fault.end is not None and fault.end < now else now
    first = next(
        (e.started for e in journal if e.fault == fault.spec.label and e.started >= fault.start),
        None,
    )
    if first is None:
        return Window(None, end, "it has not fired yet")
    return Window(first, end, f"{end - first:.3f}s from its first firing")


def step_window(first: tuple[float, float] | None, last: tuple[float, float] | None) -> Window:
    """From the start of one step to the end of another (each ``(started, ended)``)."""
    if first is None or last is None:
        return Window(None, 0.0, "a step of the window has not run")
    return Window(first[0], last[1], f"{last[1] - first[0]:.3f}s")


def calls_in(
    journal: list[JournalEntry], data: str | tuple[str, ...], window: Window
) -> list[JournalEntry]:
    """The requests for ``data`` (any of several kinds) that reached the control plane inside
    ``window``."""
    if window.start is None:
        return []
    kinds = (data,) if isinstance(data, str) else data
    return [
        e
        for e in journal
        if any(k in e.data for k in kinds) and window.start <= e.started < window.end
    ]


def query_names(entry: JournalEntry) -> set[str]:
    """The names of the parameters in a call's query string (never their values)."""
    return set(parse_qs(entry.query, keep_blank_values=True, max_num_fields=100))


def filtered(calls: list[JournalEntry], spec: PlatformCallsExpect) -> list[JournalEntry]:
    """The calls ``spec`` counts: answered with its status, carrying its query parameters."""
    wanted = set(spec.with_query)
    return [
        e
        for e in calls
        if (spec.answered is None or e.status == spec.answered)
        and (not wanted or wanted <= query_names(e))
    ]


def call_evidence(calls: list[JournalEntry], origin: float, scope: str) -> list[str]:
    """One line per call: its time from ``origin``, method, path (scope shortened), answer."""
    return [
        f"+{e.started - origin:.3f}s {e.method} {e.path.replace(scope, '/…')}"
        + (f"?{','.join(sorted(query_names(e)))}=…" if e.query else "")
        + f" -> {e.status or 'dropped'}"
        + (f" [fault: {e.fault}]" if e.fault else "")
        for e in calls[:EVIDENCE_LIMIT]
    ] + ([f"… and {len(calls) - EVIDENCE_LIMIT} more"] if len(calls) > EVIDENCE_LIMIT else [])


def pacing_mismatches(
    spec: PlatformCallsExpect, calls: list[JournalEntry], window: Window, evidence: list[str]
) -> list[Mismatch]:
    """The bounds ``calls`` break; the actual value lists every call (time, path, answer), so
    each report shows the evidence."""
    n = len(calls)
    where = f"{spec.counted()} {spec.window()} ({window.note})"
    actual = _calls(n) + spec.filters() + (": " + "; ".join(evidence) if evidence else "")
    out = []
    if spec.at_most is not None and n > spec.at_most:
        out.append(Mismatch("platform_calls.at_most", f"at most {spec.at_most} {where}", actual))
    if spec.at_least is not None and n < spec.at_least:
        out.append(Mismatch("platform_calls.at_least", f"at least {spec.at_least} {where}", actual))
    if spec.backoff is not None:
        early = early_retries(calls, spec.backoff)
        if early:
            out.append(
                Mismatch(
                    "platform_calls.backoff",
                    f"after the k-th failed call in a row, the next to that path at least"
                    f" {spec.backoff:g}s x 2^(k-1) later ({where})",
                    "; ".join(early) + f" ({actual})",
                )
            )
    return out


def failed(entry: JournalEntry) -> bool:
    """Whether the adapter saw this call fail: a fault, no answer, or a 5xx, 401 or 429."""
    return entry.fault is not None or entry.status in (0, 401, 429) or entry.status >= 500


def early_retries(calls: list[JournalEntry], backoff: float) -> list[str]:
    """Retries that came sooner than the back-off allows: per caller and path, after the k-th
    consecutive failed call, the next one at least ``backoff * 2**(k-1)`` later. The fake
    stamps a call before it answers and the adapter waits from the answer, so load only ever
    widens a gap."""
    last: dict[tuple[str, str], tuple[float, int]] = {}
    out = []
    for e in sorted(calls, key=lambda c: c.started):
        key = (e.caller, e.path)
        if key in last:
            at, k = last[key]
            wanted = backoff * 2.0 ** min(k - 1, 30)
            if e.started - at < wanted:
                out.append(
                    f"{e.method} {e.path.rsplit('/', 1)[-1]} {e.started - at:.3f}s after"
                    f" failure {k} in a row (at least {wanted:g}s)"
                )
        if failed(e):
            last[key] = (e.started, last[key][1] + 1 if key in last else 1)
        else:
            last.pop(key, None)
    return out


def summary(spec: PlatformCallsExpect, calls: list[JournalEntry], window: Window) -> str:
    """One line for the trace."""
    bounds = " and ".join(
        b
        for b in (
            f"at most {spec.at_most}" if spec.at_most is not None else "",
            f"at least {spec.at_least}" if spec.at_least is not None else "",
            f"retries backing off from {spec.backoff:g}s" if spec.backoff is not None else "",
        )
        if b
    )
    counted = _calls(len(calls), "/".join(spec.kinds)) + spec.filters()
    return f"{counted} {spec.window()} ({window.note}); expected {bounds}"


def _calls(n: int, data: str = "") -> str:
    return f"{n} {data + ' ' if data else ''}call{'' if n == 1 else 's'}"


def detail(calls: list[JournalEntry], origin: float) -> dict[str, Any]:
    """The calls' times (from ``origin``) for the trace's detail."""
    return {"call_times_s": [round(e.started - origin, 3) for e in calls[:EVIDENCE_LIMIT]]}


def _window(run: ScenarioRun, spec: PlatformCallsExpect, journal: list[JournalEntry]) -> Window:
    now = run.stack.state.clock.now()
    if spec.during is not None:
        return fault_window(spec.during, run.faults, journal, now)
    if spec.between is not None:
        return step_window(run.marks.get(spec.between[0]), run.marks.get(spec.between[1]))
    if spec.since is not None:
        mark = run.marks.get(spec.since)
        if mark is None:
            return Window(None, now, "its step has not run")
        return Window(mark[0], now, f"{now - mark[0]:.3f}s so far")
    return Window(journal[0].started if journal else now, now, "the whole run so far")


async def run_platform_calls(run: ScenarioRun, step: PlatformCallsStep) -> None:
    """Count the adapter's calls for one kind of data in the step's window (the fake's
    journal) and fail, listing every call, when the count is out of bounds; skipped when the
    step's convention is waived. With a deadline (``within``, ``within_sync``) the journal is
    polled until ``at_least`` calls have come: the step waits for an event, not a time."""
    spec, state = step.platform_calls, run.stack.state
    if spec.convention in run.waived:
        run.note("platform_calls", f"skipped: convention {spec.convention} is waived")
        return
    within = (
        run.deadline(spec.within, spec.within_sync, spec.slack, spec.intervals)
        if spec.waits
        else 0.0
    )
    loop = asyncio.get_running_loop()
    began = loop.time()
    while True:
        journal = state.journal()
        window = _window(run, spec, journal)
        seen = calls_in(journal, spec.kinds, window)
        calls = filtered(seen, spec)
        at_least = spec.at_least or 0
        if not spec.waits or len(calls) >= at_least or loop.time() - began >= within:
            break
        await asyncio.sleep(POLL_S)
    scope = f"/organizations/{state.org_id}/environments/{state.env_id}"
    line = summary(spec, calls, window)
    if spec.waits:
        line += f"; waited {loop.time() - began:.3f}s of at most {within:g}s"
    run.note("platform_calls", line, **detail(calls, run.started))
    evidence = call_evidence(seen, run.started, scope)  # every call, whatever its answer
    mismatches = pacing_mismatches(spec, calls, window, evidence)
    if mismatches:
        shown = detail(calls, run.started)["call_times_s"][:MESSAGE_TIMES]
        times = ", ".join(f"+{t:g}s" for t in shown) + (", …" if len(calls) > len(shown) else "")
        raise StepFailed(f"{line}; the calls came at {times or 'no time'}", mismatches)
