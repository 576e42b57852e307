"""Running a what-if: every sweep point times every replication, with a progress callback,
aggregated into `PointResult`s (estimates with confidence intervals per metric)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from simulator.whatif.engine import replication_seed, run_once
from simulator.whatif.loader import WhatIfFile
from simulator.whatif.result import HEADLINE_METRICS, METRICS, RunResult
from simulator.whatif.spec import WhatIfSpec
from simulator.whatif.stats import Estimate, estimate, precise_enough

DEFAULT_MAX_REPLICATIONS = 100
"""``--precision`` stops here when a metric cannot reach its target."""

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


def estimates(runs: list[RunResult], names: Iterable[str] = METRICS) -> dict[str, Estimate]:
    return {name: estimate([run.metrics.get(name) for run in runs]) for name in names}


def needs_more(metrics: dict[str, Estimate], precision: float | None, done: int, cap: int) -> bool:
    """Whether ``--precision`` asks for another replication: some headline metric's
    interval is wider than its target, and the cap is not reached."""
    if precision is None or done >= cap:
        return False
    return not all(precise_enough(metrics[n], precision) for n in HEADLINE_METRICS if n in metrics)


def run_whatif(
    file: WhatIfFile,
    *,
    replications: int | None = None,
    seed: int | None = None,
    fast: bool = False,
    progress: Progress | None = None,
    precision: float | None = None,
    max_replications: int = DEFAULT_MAX_REPLICATIONS,
) -> WhatIfRun:
    """Run every point of ``file`` ``replications`` times (default: the spec's); with
    ``precision`` (a relative half-width, e.g. 0.05) keep replicating a point until every
    headline metric's interval is that narrow (`precise_enough`) or ``max_replications``."""
    started = time.perf_counter()
    reps = replications if replications is not None else file.spec.replications
    if reps < 1:
        raise ValueError(f"replications={reps} is invalid: expected at least 1")
    if precision is not None:
        reps = max(reps, 2)
    the_seed = seed if seed is not None else file.spec.seed
    points = file.points()
    total = len(points) * reps
    done = 0
    results = []
    for point in points:
        spec = point.spec if seed is None else point.spec.model_copy(update={"seed": the_seed})
        runs: list[RunResult] = []
        metrics: dict[str, Estimate] = {}
        while len(runs) < reps or needs_more(metrics, precision, len(runs), max_replications):
            if len(runs) >= reps:
                total += 1
            runs.append(run_once(spec, replication_seed(spec, point.index, len(runs)), fast=fast))
            metrics = estimates(runs)
            done += 1
            if progress is not None:
                progress(done, total, point.label)
        results.append(PointResult(point.index, point.label, point.value, spec, runs, metrics))
    most = max(len(p.runs) for p in results)
    return WhatIfRun(file, most, the_seed, fast, results, time.perf_counter() - started)


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
