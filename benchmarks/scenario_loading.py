"""Scenario loading speed: validating the bundled library through the pydantic models, beside a
bare YAML parse of the same files (the baseline)."""

from __future__ import annotations

import time
from typing import Any

from common.yaml_source import load_yaml
from scenarios import LIBRARY, SUFFIX, load_scenario


def run(duration_s: float = 3.0, requests: int = 20_000) -> list[dict[str, Any]]:
    files = sorted(LIBRARY.rglob(f"*{SUFFIX}"))
    if not files:
        return [{"name": "scenario-loading", "error": "no scenario files"}]

    def measure(load: Any) -> tuple[float, int]:
        count, start = 0, time.perf_counter()
        deadline = start + duration_s / 2
        while time.perf_counter() < deadline and count < requests:
            for path in files:
                load(path)
                count += 1
        return count / (time.perf_counter() - start), count

    baseline, _ = measure(load_yaml)
    figure, n = measure(load_scenario)
    return [
        {
            "name": "scenario-loading",
            "figures": {"files_per_s": round(figure, 1), "files": n},
            "baseline": {"name": "yaml-parse-only", "files_per_s": round(baseline, 1)},
            "ratio": round(figure / baseline, 3),
        }
    ]
