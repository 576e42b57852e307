"""From a `WhatIfRun` to the plain data the report renderer (``reports.whatif``) takes: the
fields of its `WhatIfReport`, as dicts and lists only (the simulator does not import reports)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common.durations import parse_duration
from simulator.whatif.result import METRICS
from simulator.whatif.runner import WhatIfRun
from simulator.whatif.spec import WhatIfSpec


def sweep_x(value: Any) -> float | None:
    """A sweep value as a number for plots: numbers as they are, durations in seconds."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return parse_duration(value)
    except ValueError:
        return None


def point_data(label: str, value: Any, metrics: dict[str, Any], first: Any) -> dict[str, Any]:
    """One sweep point for the report: its estimates and its first run's series, windows,
    clients, quotas and changes (the virtual and the live engine report points alike)."""
    return {
        "label": label,
        "value": value,
        "metrics": {name: est.as_dict() for name, est in metrics.items()},
        "series": first.series,
        "windows": first.windows,
        "clients": first.clients,
        "quotas": first.quotas,
        "changes": first.changes,
        "x": sweep_x(value),
    }


def header_data(
    spec: WhatIfSpec, path: Path, *, first_spec: WhatIfSpec | None = None
) -> dict[str, Any]:
    """What every what-if report opens with: the question, the spec, the timeline."""
    shown = first_spec or spec
    return {
        "name": spec.name,
        "question": spec.question.strip(),
        "spec_path": str(path),
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "bin_s": shown.bin,
        "sweep_setting": spec.sweep.setting if spec.sweep else None,
        "timeline": [{"at_s": e.at, "label": e.label, "action": e.action} for e in shown.timeline],
    }


def report_data(run: WhatIfRun, command: str = "") -> dict[str, Any]:
    spec = run.file.spec
    points = [point_data(p.label, p.value, p.metrics, p.runs[0]) for p in run.points]
    return {
        **header_data(spec, run.file.path),
        "seed": run.seed,
        "replications": run.replications,
        "fast": run.fast,
        "wall_s": run.wall_s,
        "simulated_requests": run.simulated_requests,
        "metric_descriptions": dict(METRICS),
        "points": points,
        "command": command,
    }
