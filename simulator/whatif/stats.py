"""Aggregation over replications: mean, 95% confidence half-width (Student's t), min, max."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# two-sided 95% Student t quantiles for 1..30 degrees of freedom
_T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t95(df: int) -> float:
    """The 97.5% quantile of Student's t with ``df`` degrees of freedom (1.96 beyond 30)."""
    if df < 1:
        return math.nan
    return _T95[df - 1] if df <= len(_T95) else 1.96


@dataclass(frozen=True, slots=True)
class Estimate:
    """A metric over replications; ``ci`` is the 95% half-width (None with one value), ``n``
    how many replications had a value."""

    mean: float | None
    ci: float | None
    low: float | None
    high: float | None
    n: int

    def as_dict(self, digits: int = 6) -> dict[str, float | int | None]:
        return {
            "mean": sig(self.mean, digits),
            "ci95": sig(self.ci, digits),
            "min": sig(self.low, digits),
            "max": sig(self.high, digits),
            "n": self.n,
        }


def estimate(values: Sequence[float | None]) -> Estimate:
    seen = [float(v) for v in values if v is not None]
    n = len(seen)
    if n == 0:
        return Estimate(None, None, None, None, 0)
    mean = math.fsum(seen) / n
    ci = None
    if n > 1:
        var = math.fsum((v - mean) ** 2 for v in seen) / (n - 1)
        ci = t95(n - 1) * math.sqrt(var / n)
    return Estimate(mean, ci, min(seen), max(seen), n)


def sig(value: float | None, digits: int = 6) -> float | None:
    """``value`` rounded to ``digits`` significant digits (stable text for summaries)."""
    if value is None:
        return None
    if value == 0 or not math.isfinite(value):
        return float(value)
    return float(f"{value:.{digits}g}")
