"""``asmkit run FILE``: run one scenario against the adapter and print a readable, timestamped
trace of the flow (client → Envoy → adapter → upstream, control-plane changes, analytics)."""

from __future__ import annotations

import signal
from pathlib import Path

from rich.console import Console

from conformance.interrupts import Interrupts
from conformance.results import Outcome, ScenarioResult
from conformance.runner import run_scenario
from live.profile import BUNDLED_PROFILE, load_profile
from scenarios.loader import load_scenario
from scenarios.problems import ScenarioError

_COLOURS = {
    "request": "cyan",
    "control_plane": "magenta",
    "sync": "dim",
    "fault": "red",
    "wait": "dim",
    "eventually": "blue",
    "analytics": "yellow",
    "failure": "red",
    "stack": "green",
    "network": "red",
    "replay": "magenta",
}


def print_trace(console: Console, result: ScenarioResult) -> None:
    console.print(f"[bold]{result.name}[/bold]: {result.description}")
    for entry in result.trace:
        colour = _COLOURS.get(entry.kind, "white")
        console.print(f"  {entry.at:8.3f}s  [{colour}]{entry.kind:<13}[/{colour}] {entry.summary}")
    for c in result.consistency:
        console.print(
            f"  time to consistency: {c.seconds:.3f}s for '{c.step_name}' ({c.attempts} attempts)"
        )
    adapter_calls = [j for j in result.journal if not j["path"].startswith("/_")]
    console.print(f"  control plane: {len(adapter_calls)} calls from the adapter")
    if result.failure is not None:
        console.print(f"[red]{result.failure.render()}[/red]")
    if result.error:
        console.print(f"[red]{result.error}[/red]")
    verdict = {Outcome.PASSED: "PASSED", Outcome.ERROR: "KIT ERROR"}.get(result.outcome, "FAILED")
    colour = "green" if result.outcome == Outcome.PASSED else "red"
    console.print(f"[bold {colour}]{verdict}[/bold {colour}] in {result.duration_s:.2f}s")


def run_one(path: Path, *, adapter: str | None = None) -> int:
    console = Console(soft_wrap=True)
    try:
        source = load_scenario(path)
        profile = load_profile(Path(adapter) if adapter else BUNDLED_PROFILE)
    except ScenarioError as exc:
        console.print(str(exc), markup=False)
        return 2
    interrupts = Interrupts()  # SIGTERM stops the stack as Ctrl-C does
    interrupts.install()
    try:
        result = interrupts.run(run_scenario(source, profile))
    except KeyboardInterrupt:
        interrupts.note_interrupt()
        console.print(f"[red]interrupted by {interrupts.received}[/red]; the stack was stopped")
        return 128 + signal.Signals[interrupts.received]
    finally:
        interrupts.uninstall()
    print_trace(console, result)
    return 0 if result.outcome == Outcome.PASSED else 1
