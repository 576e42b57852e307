"""Benchmarks: ``asmkit bench [NAME]``. Each prints one JSON object per line with its name, its
figures, the baseline it ran beside in the same run, and the ratio between them (these machines
are noisy, so absolute numbers alone mean little)."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from typing import Any

BENCHMARKS: dict[str, str] = {
    "control-plane": "fake_anypoint.bench:run",
    "adapter": "reference_adapter.bench:run",
    "envoy": "benchmarks.envoy:run",
    "envoy-allow-all": "simulator.bench:run",
    "whatif": "simulator.whatif.bench:run",
    "scenario-loading": "benchmarks.scenario_loading:run",
    "load": "benchmarks.load:run",
    "stability": "benchmarks.stability:run",
    "proxy": "benchmarks.proxy:run",
    "mutation": "benchmarks.mutation:run",
}
"""Name → ``module:function``; the function takes ``duration_s`` and ``requests`` and returns a
list of result dicts ``{"name", "figures", "baseline", "ratio"}``."""

ON_REQUEST = frozenset({"mutation"})
"""Benchmarks that run only when named (``asmkit bench mutation`` takes hours)."""


def _load(target: str) -> Callable[..., list[dict[str, Any]]]:
    module, _, attr = target.partition(":")
    func: Callable[..., list[dict[str, Any]]] = getattr(importlib.import_module(module), attr)
    return func


def run_benchmarks(name: str | None, *, duration_s: float, requests: int) -> int:
    if name is not None and name not in BENCHMARKS:
        print(f"unknown benchmark {name!r}; choose from: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    names = [name] if name else [b for b in BENCHMARKS if b not in ON_REQUEST]
    failed = 0
    for bench in names:
        try:
            func = _load(BENCHMARKS[bench])
        except (ImportError, AttributeError) as exc:
            print(json.dumps({"name": bench, "error": f"not available: {exc}"}), flush=True)
            failed += 1
            continue
        for row in func(duration_s=duration_s, requests=requests):
            print(json.dumps(row, sort_keys=False), flush=True)
    return 1 if failed else 0
