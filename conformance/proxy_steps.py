"""The proxy and the cassette in a scenario run: switching network faults on through the
stack's proxy link, adding what they did (the proxy's fault log) to the result's trace and
journal, and what a replayed cassette answered. A network fault that never acted leaves the case
unable to judge the adapter (a kit error, like a silent control-plane fault)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.results import ScenarioResult, StepFailure, TraceEntry
from live.stack import Stack
from proxy import NetworkFault

ACCEPTED = "ACCEPTED"
"""How the proxy's log marks a bad certificate the adapter went on with (it fails open)."""


@dataclass(frozen=True)
class NetworkFaultUse:
    """A network fault a step switched on, and where that step is written."""

    fault: NetworkFault
    step_index: int
    step_name: str
    location: str


class NetworkFaultError(Exception):
    """A network fault the stack cannot apply (no proxy in the loop)."""


async def apply_network_fault(stack: Stack, fault: NetworkFault) -> str:
    """Switch ``fault`` on now; returns the trace line."""
    if stack.link is None:
        raise NetworkFaultError(
            "a network fault needs the adapter behind the proxy: set control_plane: {via: proxy}"
            " in the adapter profile (docs/proxy.md)"
        )
    return await stack.link.apply(fault)


async def clear_network_faults(stack: Stack) -> None:
    if stack.link is not None:
        await stack.link.clear()


def record_network(
    result: ScenarioResult, stack: Stack, started: float, uses: list[NetworkFaultUse]
) -> None:
    """Add the proxy's fault log to the trace and journal. An adapter that accepted a bad
    certificate fails the case (it would talk to an impostor); a fault that never acted makes
    it a kit error."""
    events = stack.network_events
    result.journal += [_journal(event, started) for event in events]
    result.trace = sorted(
        [*result.trace, *(_trace(event, started) for event in events)], key=lambda t: t.at
    )
    accepted = [e for e in events if str(e.get("detail", "")).startswith(ACCEPTED)]
    if accepted and uses:
        # The root cause outranks what it led to (the impostor's connection stays refused).
        use = next((u for u in uses if u.fault.label == accepted[0]["name"]), uses[0])
        later = f"; then: {result.failure.message}" if result.failure is not None else ""
        result.failure = StepFailure(
            use.step_index,
            use.step_name,
            use.location,
            f"the adapter accepted a bad TLS certificate ({accepted[0]['kind']}) from"
            f" {accepted[0]['host']}: it must refuse it and keep its last good state{later}",
        )
    acted = {str(event["name"]) for event in events}
    silent = [u.fault.label for u in uses if u.fault.label not in acted]
    if silent and result.failure is None and result.error is None:
        result.error = (
            f"kit error: the network fault(s) {', '.join(silent)} never acted: the adapter made"
            " no matching connection or request while they were on, so this case cannot judge it"
        )


def _where(event: dict[str, Any]) -> str:
    parts = [str(event.get(k) or "") for k in ("host", "method", "path")]
    return " ".join(p for p in parts if p)


def _trace(event: dict[str, Any], started: float) -> TraceEntry:
    at = round(float(event["at"]) - started, 4)
    return TraceEntry(at, "network", f"proxy {event['name']}: {_where(event)}: {event['detail']}")


def _journal(event: dict[str, Any], started: float) -> dict[str, Any]:
    return {
        "at": round(float(event["at"]) - started, 4),
        "method": event.get("method") or "",
        "path": event.get("path") or "",
        "status": 0,
        "fault": event["name"],
        "data": [],
        "network": f"{event['kind']} on {event['host']}: {event['detail']}",
    }


def record_replay(result: ScenarioResult, stack: Stack, started: float) -> None:
    """With a cassette: mark the journal entries it answered and say, in the trace, which
    endpoints the adapter used that the fake does not implement (with counts)."""
    replay = stack.state.replay
    if replay is None:
        return
    for entry, journaled in zip(result.journal, stack.state.journal(), strict=False):
        if journaled.replayed:
            entry["replayed"] = True
    missing = sorted(replay.unimplemented.items(), key=lambda item: -item[1])
    listed = ", ".join(f"{method} {path} x{count}" for (method, path), count in missing)
    summary = (
        f"cassette answered {sum(replay.served.values())} recorded reads; endpoints this adapter"
        f" used that the fake does not implement: {len(missing)}"
        + (f" ({listed})" if listed else "")
    )
    at = round(max((t.at for t in result.trace), default=0.0), 4)
    result.trace.append(TraceEntry(at, "replay", summary))
