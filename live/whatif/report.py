"""From a `LiveWhatIf` to the plain data the what-if report renderer takes (the virtual
report's fields, the live figures as the point's metrics, plus the comparison with the virtual
prediction and where the run happened)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from live.whatif.engine import LIVE_METRICS
from live.whatif.runner import LiveWhatIf
from simulator.whatif.report_data import sweep_x
from simulator.whatif.result import METRICS


def live_report_data(run: LiveWhatIf, command: str = "") -> dict[str, Any]:
    spec = run.file.spec
    first_spec = run.points[0].spec
    points = []
    for p in run.points:
        first = p.runs[0]
        points.append(
            {
                "label": p.label,
                "value": p.value,
                "metrics": {name: est.as_dict() for name, est in p.live.items()},
                "series": first.series,
                "windows": first.windows,
                "clients": first.clients,
                "quotas": first.quotas,
                "changes": first.changes,
                "x": sweep_x(p.value),
                "comparison": p.comparison,
            }
        )
    return {
        "name": spec.name,
        "question": spec.question.strip(),
        "spec_path": str(run.file.path),
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "seed": run.seed,
        "replications": max(len(p.runs) for p in run.points),
        "fast": False,
        "wall_s": run.wall_s,
        "simulated_requests": run.requests,
        "bin_s": first_spec.bin,
        "sweep_setting": spec.sweep.setting if spec.sweep else None,
        "metric_descriptions": {**METRICS, **LIVE_METRICS},
        "timeline": [
            {"at_s": e.at, "label": e.label, "action": e.action} for e in first_spec.timeline
        ],
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
