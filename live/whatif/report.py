"""From a `LiveWhatIf` to the plain data the what-if report renderer takes (the virtual
report's fields, the live figures as the point's metrics, plus the comparison with the virtual
prediction and where the run happened)."""

from __future__ import annotations

from typing import Any

from live.whatif.engine import LIVE_METRICS
from live.whatif.runner import LiveWhatIf
from simulator.whatif.report_data import header_data, point_data
from simulator.whatif.result import METRICS


def live_report_data(run: LiveWhatIf, command: str = "") -> dict[str, Any]:
    spec = run.file.spec
    first_spec = run.points[0].spec
    points = [
        {**point_data(p.label, p.value, p.live, p.runs[0]), "comparison": p.comparison}
        for p in run.points
    ]
    return {
        **header_data(spec, run.file.path, first_spec=first_spec),
        "seed": run.seed,
        "replications": max(len(p.runs) for p in run.points),
        "fast": False,
        "wall_s": run.wall_s,
        "simulated_requests": run.requests,
        "metric_descriptions": {**METRICS, **LIVE_METRICS},
        "points": points,
        "command": command,
        "engine": "live",
        "environment": {
            "adapter": run.adapter,
            "data_plane": run.data_plane,
            "time_scale": run.time_scale,
            "rate_scale": run.rate_scale,
            "warnings": sorted({w for p in run.points for r in p.runs for w in r.warnings}),
        },
    }
