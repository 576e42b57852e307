"""Running a what-if live: every sweep point (time- and rate-scaled for a short run), live
replications (more with ``precision``), the virtual prediction of the same scaled spec for the
reference adapter, and the comparison of the two, metric by metric."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from live.profile import AdapterProfile
from live.whatif.driver import LiveProgress
from live.whatif.engine import LIVE_METRICS, Load, run_live_once
from simulator.whatif.engine import replication_seed, run_once
from simulator.whatif.loader import WhatIfFile
from simulator.whatif.result import HEADLINE_METRICS, METRICS, RunResult
from simulator.whatif.runner import DEFAULT_MAX_REPLICATIONS, estimates, needs_more
from simulator.whatif.scale import scale_spec
from simulator.whatif.spec import WhatIfSpec
from simulator.whatif.stats import Estimate, agrees

STARTUP_S = 3.0
"""What bringing a stack up and down adds to each live replication (for the wall-time bound)."""


@dataclass
class LivePoint:
    """One sweep point run live: the scaled spec, the live runs and estimates, the virtual
    prediction's estimates and the comparison rows."""

    index: int
    label: str
    value: Any
    spec: WhatIfSpec
    runs: list[RunResult]
    live: dict[str, Estimate]
    virtual: dict[str, Estimate]
    comparison: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class LiveWhatIf:
    file: WhatIfFile
    adapter: str
    data_plane: str
    time_scale: float
    rate_scale: float
    seed: int
    points: list[LivePoint]
    wall_s: float

    @property
    def requests(self) -> int:
        return sum(int(r.metrics.get("requests") or 0) for p in self.points for r in p.runs)


def planned_wall_s(file: WhatIfFile, replications: int, time_scale: float) -> float:
    """The wall time a live run needs at least (every point, every replication)."""
    return len(file.points()) * replications * (file.spec.duration * time_scale + STARTUP_S)


def compare(live: dict[str, Estimate], virtual: dict[str, Estimate]) -> list[dict[str, Any]]:
    """One row per headline metric: live, virtual, their difference, and whether the live
    figure lies within the virtual prediction's interval (`agrees`)."""
    rows = []
    for name in HEADLINE_METRICS:
        lv, vv = live.get(name), virtual.get(name)
        if lv is None or vv is None or (lv.mean is None and vv.mean is None):
            continue
        diff = None if lv.mean is None or vv.mean is None else lv.mean - vv.mean
        rows.append(
            {
                "metric": name,
                "live": lv.as_dict(4),
                "virtual": vv.as_dict(4),
                "difference": None if diff is None else round(diff, 6),
                "within_interval": agrees(lv, vv),
            }
        )
    return rows


async def run_live(
    file: WhatIfFile,
    profile: AdapterProfile,
    *,
    adapter_name: str,
    replications: int,
    seed: int | None = None,
    time_scale: float = 1.0,
    rate_scale: float = 1.0,
    data_plane: str = "simulated",
    precision: float | None = None,
    max_replications: int = DEFAULT_MAX_REPLICATIONS,
    virtual_replications: int | None = None,
    log_dir: Path | None = None,
    on_progress: Callable[[LiveProgress, str, int], None] | None = None,
    lag_slack: float = 1.0,
    only: set[int] | None = None,
    make_load: Callable[[], Load] | None = None,
) -> LiveWhatIf:
    """Run ``file`` live (see the module docstring); ``only``: these sweep points. Long on purpose:
    the sweep, replication and precision loops read top to bottom in one place."""
    started = time.perf_counter()
    the_seed = seed if seed is not None else file.spec.seed
    points = []
    for point in file.points():
        if only is not None and point.index not in only:
            continue
        spec = scale_spec(
            point.spec.model_copy(update={"seed": the_seed}), time=time_scale, rate=rate_scale
        )
        runs: list[RunResult] = []
        live: dict[str, Estimate] = {}
        while len(runs) < replications or needs_more(live, precision, len(runs), max_replications):
            progress = LiveProgress()
            if on_progress is not None:
                on_progress(progress, point.label, len(runs))
            runs.append(
                await run_live_once(
                    spec,
                    profile,
                    replication_seed(spec, point.index, len(runs)),
                    data_plane=data_plane,
                    log_dir=log_dir,
                    progress=progress,
                    lag_slack=lag_slack,
                    load=make_load() if make_load is not None else None,
                )
            )
            live = estimates(runs, [*METRICS, *LIVE_METRICS])
        virtual = _predict(spec, point.index, virtual_replications or max(3, len(runs)))
        points.append(
            LivePoint(
                point.index,
                point.label,
                point.value,
                spec,
                runs,
                live,
                virtual,
                compare(live, virtual),
            )
        )
    return LiveWhatIf(
        file,
        adapter_name,
        data_plane,
        time_scale,
        rate_scale,
        the_seed,
        points,
        time.perf_counter() - started,
    )


def _predict(spec: WhatIfSpec, index: int, replications: int) -> dict[str, Estimate]:
    """The virtual engine's estimates for the scaled spec of sweep point ``index`` (the same
    replication seeds as the live runs: replication r sends the same requests)."""
    return estimates(
        [run_once(spec, replication_seed(spec, index, r)) for r in range(replications)]
    )
