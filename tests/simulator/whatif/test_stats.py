"""Histograms and estimates over replications."""

from __future__ import annotations

import numpy as np

from simulator.whatif.histogram import LogHistogram
from simulator.whatif.stats import estimate, sig, t95


def test_histogram_percentiles_within_a_bucket() -> None:
    values = np.random.default_rng(1).exponential(0.002, 100_000)
    h = LogHistogram()
    h.add_many(values[:50_000])
    other = LogHistogram()
    other.add_many(values[50_000:])
    h.merge(other)
    for q in (50, 90, 99):
        exact = float(np.percentile(values, q))
        got = h.percentile(q)
        assert got is not None and abs(got - exact) / exact < 0.011
    assert h.total == 100_000 and abs((h.mean or 0) - values.mean()) < 1e-12
    assert LogHistogram().percentile(50) is None


def test_histogram_handles_zero() -> None:
    h = LogHistogram()
    h.add_many([0.0, 0.0, 1.0])
    assert h.percentile(50) == 0.0 and h.percentile(100) == 1.0


def test_estimate_mean_and_confidence_interval() -> None:
    e = estimate([1.0, 2.0, 3.0, None])
    assert e.mean == 2.0 and e.n == 3 and e.low == 1.0 and e.high == 3.0
    assert e.ci is not None and abs(e.ci - 4.303 * (1.0 / 3**0.5)) < 1e-9
    assert estimate([None]).mean is None and estimate([5.0]).ci is None
    assert t95(1) == 12.706 and t95(100) == 1.96
    assert sig(123456.789, 4) == 123500.0 and sig(None) is None
