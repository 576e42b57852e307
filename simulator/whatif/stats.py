"""Aggregation over replications: mean, a 95% confidence interval that respects the metric's
range, min and max; the precision test of ``--precision``; and the live-versus-virtual check
(is one engine's figure inside the other's interval)."""

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

NON_NEGATIVE = (0.0, math.inf)
"""The range of every what-if metric: counts, durations, latencies and ratios are never < 0."""


def t95(df: int) -> float:
    """The 97.5% quantile of Student's t with ``df`` degrees of freedom (1.96 beyond 30)."""
    if df < 1:
        return math.nan
    return _T95[df - 1] if df <= len(_T95) else 1.96


@dataclass(frozen=True, slots=True)
class Estimate:
    """A metric over replications. ``ci_low``/``ci_high``: the 95% interval of the mean (None
    with one value), never outside the metric's range; ``low``/``high``: min and max; ``sd``:
    the sample standard deviation; ``n``: how many replications had a value."""

    mean: float | None
    ci_low: float | None
    ci_high: float | None
    low: float | None
    high: float | None
    n: int
    sd: float | None = None

    @property
    def half_width(self) -> float | None:
        """Half the interval's width (what ``--precision`` compares with the mean)."""
        if self.ci_low is None or self.ci_high is None:
            return None
        return (self.ci_high - self.ci_low) / 2.0

    def as_dict(self, digits: int = 6) -> dict[str, float | int | None]:
        return {
            "mean": sig(self.mean, digits),
            "ci_low": sig(self.ci_low, digits),
            "ci_high": sig(self.ci_high, digits),
            "min": sig(self.low, digits),
            "max": sig(self.high, digits),
            "n": self.n,
        }


def estimate(
    values: Sequence[float | None], bounds: tuple[float, float] = NON_NEGATIVE
) -> Estimate:
    """Mean and the Student-t 95% interval of the mean, cut to ``bounds``.

    The true mean of a metric lies inside its range, so cutting the interval at the range's
    edge keeps its 95% coverage while never showing impossible values (a count's interval
    never runs below zero)."""
    seen = [float(v) for v in values if v is not None]
    n = len(seen)
    if n == 0:
        return Estimate(None, None, None, None, None, 0)
    mean = math.fsum(seen) / n
    if n == 1:
        return Estimate(mean, None, None, seen[0], seen[0], 1)
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in seen) / (n - 1))
    half = t95(n - 1) * sd / math.sqrt(n)
    low, high = bounds
    return Estimate(
        mean, max(low, mean - half), min(high, mean + half), min(seen), max(seen), n, sd
    )


def precise_enough(est: Estimate, relative: float, floor: float = 0.5) -> bool:
    """Whether ``est``'s half-width is at most ``relative`` times its mean, or at most
    ``floor`` (half a request or event: a count that is almost always 0 can meet no relative
    target). A metric with no value in any replication needs no more."""
    if est.mean is None:
        return True
    half = est.half_width
    if half is None:
        return False
    return half <= max(relative * abs(est.mean), floor)


def prediction_half_width(est: Estimate) -> float | None:
    """Half-width of the 95% prediction interval for one more replication (the range a single
    new run falls in): ``t * sd * sqrt(1 + 1/n)``; None with fewer than two values."""
    if est.sd is None or est.n < 2:
        return None
    return t95(est.n - 1) * est.sd * math.sqrt(1.0 + 1.0 / est.n)


def agrees(observed: Estimate, predicted: Estimate) -> bool | None:
    """Whether ``observed`` (e.g. live) lies within ``predicted``'s (e.g. virtual) interval.

    One observed run is compared with the prediction interval of one run; several with the
    interval of the difference of the two means (Welch). With no spread on both sides the
    values must be equal. None when either side has no value."""
    if observed.mean is None or predicted.mean is None:
        return None
    diff = abs(observed.mean - predicted.mean)
    if observed.n <= 1:
        half = prediction_half_width(predicted)
        return diff <= (half if half is not None else 0.0) + 1e-9
    var_o = (observed.sd or 0.0) ** 2 / observed.n
    var_p = (predicted.sd or 0.0) ** 2 / predicted.n if predicted.n > 1 else 0.0
    total = var_o + var_p
    if total == 0:
        return diff <= 1e-9
    parts = var_o**2 / (observed.n - 1) + (var_p**2 / (predicted.n - 1) if var_p else 0.0)
    df = max(1, int(total**2 / parts))  # Welch-Satterthwaite
    return diff <= t95(df) * math.sqrt(total) + 1e-9


def sig(value: float | None, digits: int = 6) -> float | None:
    """``value`` rounded to ``digits`` significant digits (stable text for summaries)."""
    if value is None:
        return None
    if value == 0 or not math.isfinite(value):
        return float(value)
    return float(f"{value:.{digits}g}")
