"""What the control plane saw during a case, as evidence in its result: whether each fault the
case relies on fired (or the case cannot judge the adapter), and the adapter's sync calls,
analytics batches and refused posts in the journal and, by time, in the trace (with the LDAP
directory's binds and searches)."""

from __future__ import annotations

from typing import Any

from conformance.results import ScenarioResult, TraceEntry
from fake_anypoint import ActiveFault
from live.stack import Stack


def check_faults_fired(
    result: ScenarioResult, faults: list[ActiveFault], failed_at: float | None
) -> None:
    """A case that relies on a fault proves it fired (the journal shows it) or cannot judge
    the adapter: the fault's window passed without the adapter asking for that data. A step
    that failed while a fault was still waiting for its chance keeps its verdict."""
    silent = [
        f
        for f in faults
        if f.spec.required
        and f.fired == 0
        and (failed_at is None or (f.end is not None and f.end <= failed_at))
    ]
    if silent:
        names = ", ".join(f"{f.spec.label} (on {', '.join(f.spec.data)})" for f in silent)
        failed = " (the step failure below happened without it)" if result.failure else ""
        result.error = (
            f"kit error: the fault(s) {names} never fired: the adapter made no request for that"
            f" data while the fault was active, so this case cannot judge the adapter{failed}"
        )


def record_control_plane(result: ScenarioResult, stack: Stack, started: float) -> None:
    """Add what the control plane saw (the adapter's sync calls, its analytics batches and the
    posts the ingest refused or lost) to the result's journal and, interleaved by time, to its
    trace, with the binds and searches the scenario's LDAP directory answered."""
    journal = stack.state.journal()
    result.journal = [
        {
            "at": round(e.started - started, 4),
            "method": e.method,
            "path": e.path + (f"?{e.query}" if e.query else ""),
            "status": e.status,
            "fault": e.fault,
            "data": list(e.data),
        }
        for e in journal
    ]
    scope = f"/organizations/{stack.state.org_id}/environments/{stack.state.env_id}"
    flow = [
        TraceEntry(
            round(e.started - started, 4),
            "analytics" if "ingest" in e.data else "sync",
            f"adapter {e.method} {_where(e)}{e.path.replace(scope, '/…')}"
            f" -> {e.status or 'dropped'}" + (f" [fault: {e.fault}]" if e.fault else ""),
        )
        for e in journal
        if "ingest" not in e.data or not 200 <= e.status < 300  # posts that failed, and why
    ]
    flow += [
        TraceEntry(
            round(b.received_at - started, 4),
            "analytics",
            f"ingest batch {b.batch_id[:8]}: {len(b.events)} events, {b.size_bytes} bytes gzip"
            + (f", {b.duplicates} retried copies" if b.duplicates else ""),
        )
        for b in stack.state.analytics_batches()
    ]
    flow += [
        TraceEntry(round(e.at - started, 4), "directory", f"directory {e.summary} -> {e.result}")
        for e in (stack.directory.events if stack.directory is not None else [])
    ]
    result.trace = sorted([*result.trace, *flow], key=lambda t: t.at)


def _where(entry: Any) -> str:
    """Who served a journaled request: the identity provider's are not the platform's."""
    return "(identity provider) " if "jwks" in entry.data else ""
