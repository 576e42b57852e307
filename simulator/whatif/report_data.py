"""From a `WhatIfRun` to the plain data the report renderer (``reports.whatif``) takes: the
fields of its `WhatIfReport`, as dicts and lists only (the simulator does not import reports)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from common.durations import parse_duration
from simulator.whatif.result import METRICS
from simulator.whatif.runner import WhatIfRun


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


def report_data(run: WhatIfRun, command: str = "") -> dict[str, Any]:
    spec = run.file.spec
    points = []
    for p in run.points:
        first = p.runs[0]
        points.append(
            {
                "label": p.label,
                "value": p.value,
                "metrics": {name: est.as_dict() for name, est in p.metrics.items()},
                "series": first.series,
                "windows": first.windows,
                "clients": first.clients,
                "quotas": first.quotas,
                "changes": first.changes,
                "x": sweep_x(p.value),
            }
        )
    return {
        "name": spec.name,
        "question": spec.question.strip(),
        "spec_path": str(run.file.path),
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": run.seed,
        "replications": run.replications,
        "fast": run.fast,
        "wall_s": run.wall_s,
        "simulated_requests": run.simulated_requests,
        "bin_s": spec.bin,
        "sweep_setting": spec.sweep.setting if spec.sweep else None,
        "metric_descriptions": dict(METRICS),
        "timeline": [{"at_s": e.at, "label": e.label, "action": e.action} for e in spec.timeline],
        "points": points,
        "command": command,
    }
