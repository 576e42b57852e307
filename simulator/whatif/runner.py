"""Running a what-if: every sweep point times every replication, with a progress callback,
aggregated into `PointResult`s (estimates with confidence intervals per metric)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simulator.whatif.engine import replication_seed, run_once
from simulator.whatif.loader import WhatIfFile
from simulator.whatif.result import METRICS, RunResult
from simulator.whatif.spec import WhatIfSpec
from simulator.whatif.stats import Estimate, estimate

Progress = Callable[[int, int, str], None]
"""Called after each replication with (done, total, label)."""


@dataclass
class PointResult:
    """One sweep point: its replications and the per-metric estimates."""

    index: int
    label: str
    value: Any
    spec: WhatIfSpec
    runs: list[RunResult]
    metrics: dict[str, Estimate] = field(default_factory=dict)


@dataclass
class WhatIfRun:
    """A whole what-if: the file, the settings it ran with, the points."""

    file: WhatIfFile
    replications: int
    seed: int
    fast: bool
    points: list[PointResult]
    wall_s: float

    @property
    def simulated_requests(self) -> int:
        return sum(int(r.metrics["requests"] or 0) for p in self.points for r in p.runs)


def run_whatif(
    file: WhatIfFile,
    *,
    replications: int | None = None,
    seed: int | None = None,
    fast: bool = False,
    progress: Progress | None = None,
) -> WhatIfRun:
    """Run every point of ``file`` ``replications`` times (default: the spec's)."""
    started = time.perf_counter()
    reps = replications if replications is not None else file.spec.replications
    if reps < 1:
        raise ValueError(f"replications={reps} is invalid: expected at least 1")
    the_seed = seed if seed is not None else file.spec.seed
    points = file.points()
    total = len(points) * reps
    done = 0
    results = []
    for point in points:
        spec = point.spec if seed is None else point.spec.model_copy(update={"seed": the_seed})
        runs = []
        for r in range(reps):
            runs.append(run_once(spec, replication_seed(spec, point.index, r), fast=fast))
            done += 1
            if progress is not None:
                progress(done, total, point.label)
        metrics = {name: estimate([run.metrics.get(name) for run in runs]) for name in METRICS}
        results.append(PointResult(point.index, point.label, point.value, spec, runs, metrics))
    return WhatIfRun(file, reps, the_seed, fast, results, time.perf_counter() - started)


def summary(run: WhatIfRun, digits: int = 6) -> dict[str, Any]:
    """The comparable summary of a run (what the library's ``*.expected.yaml`` files hold):
    per point, each metric's mean, 95% CI, min and max, rounded to ``digits`` digits."""
    sweep = run.file.spec.sweep
    return {
        "name": run.file.spec.name,
        "seed": run.seed,
        "replications": run.replications,
        "sweep": sweep.setting if sweep else None,
        "points": [
            {
                "label": p.label,
                "value": p.value,
                "metrics": {name: est.as_dict(digits) for name, est in p.metrics.items()},
            }
            for p in run.points
        ],
    }
