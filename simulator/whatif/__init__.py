"""The what-if engine: load and chaos questions answered in virtual time (SimPy) with the
reference adapter's own decision core, sync schedules and analytics batcher."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulator.whatif.engine import replication_seed, run_once
    from simulator.whatif.loader import SUFFIX, SweepPoint, WhatIfFile, load_whatif
    from simulator.whatif.result import METRICS, RunResult
    from simulator.whatif.runner import PointResult, WhatIfRun, run_whatif, summary
    from simulator.whatif.spec import WhatIfSpec

_WHERE = {
    "METRICS": "result",
    "SUFFIX": "loader",
    "PointResult": "runner",
    "RunResult": "result",
    "SweepPoint": "loader",
    "WhatIfFile": "loader",
    "WhatIfRun": "runner",
    "WhatIfSpec": "spec",
    "load_whatif": "loader",
    "replication_seed": "engine",
    "run_once": "engine",
    "run_whatif": "runner",
    "summary": "runner",
}
"""Names are imported on first use, so ``asmkit --help`` (which registers the command) does
not pay for SimPy, NumPy and the decision core."""


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'simulator.whatif' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"simulator.whatif.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "METRICS",
    "SUFFIX",
    "PointResult",
    "RunResult",
    "SweepPoint",
    "WhatIfFile",
    "WhatIfRun",
    "WhatIfSpec",
    "load_whatif",
    "replication_seed",
    "run_once",
    "run_whatif",
    "summary",
]
