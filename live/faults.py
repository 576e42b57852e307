"""Turning a scenario's fault spec into a fault on the fake control plane, with its window
anchored at the moment it is applied."""

from __future__ import annotations

from fake_anypoint import ControlPlaneState, Fault
from scenarios.steps import FaultSpec


def apply_fault(state: ControlPlaneState, spec: FaultSpec) -> str:
    """Add (or, with ``clear``, remove all) faults; returns a one-line summary."""
    if spec.clear:
        state.clear_faults()
        return "all faults cleared"
    start = state.clock.now() + spec.after
    fault = Fault(
        group=spec.group or "*",
        name=spec.name,
        status=spec.status,
        latency_s=spec.latency,
        jitter_s=spec.jitter,
        first_n=spec.first_n,
        start=start,
        end=start + spec.lasting if spec.lasting is not None else None,
        drop=spec.drop,
        malformed=spec.malformed,
        probability=spec.probability,
        lose_response=spec.lose_response,
    )
    state.add_fault(fault)
    window = f" for {spec.lasting:g}s" if spec.lasting is not None else ""
    delay = f" after {spec.after:g}s" if spec.after else ""
    return f"{fault.name} on {fault.group}{delay}{window}"
