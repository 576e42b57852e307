"""Histograms and estimates over replications."""

from __future__ import annotations

import numpy as np

from common.histogram import LogHistogram
from simulator.whatif.stats import agrees, estimate, precise_enough, sig, t95


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
    e = estimate([11.0, 12.0, 13.0, None])
    assert e.mean == 12.0 and e.n == 3 and e.low == 11.0 and e.high == 13.0
    assert e.half_width is not None and abs(e.half_width - 4.303 * (1.0 / 3**0.5)) < 1e-9
    assert estimate([None]).mean is None and estimate([5.0]).half_width is None
    assert t95(1) == 12.706 and t95(100) == 1.96
    assert sig(123456.789, 4) == 123500.0 and sig(None) is None


def test_count_intervals_never_run_below_zero() -> None:
    # the case: 3 replications of a rare count; Student's t alone gives [-2.8, 4.8]
    e = estimate([0.0, 0.0, 3.0])
    assert (
        e.ci_low == 0.0
        and e.ci_high is not None
        and abs(e.ci_high - (1 + 4.303 * 3**0.5 / 3**0.5)) < 1e-9
    )
    assert e.as_dict()["ci_low"] == 0.0
    ratio = estimate([0.0, 1.0, 1.0], bounds=(0.0, 1.0))
    assert ratio.ci_high == 1.0
    assert estimate([4.0, 4.0]).ci_low == estimate([4.0, 4.0]).ci_high == 4.0


def test_precision_target() -> None:
    assert precise_enough(estimate([100.0, 101.0, 99.0, 100.0]), 0.05)
    assert not precise_enough(estimate([10.0, 50.0, 90.0]), 0.05)
    assert not precise_enough(estimate([5.0]), 0.05)  # one value: no interval yet
    assert precise_enough(estimate([0.0, 0.0, 0.0]), 0.05)
    assert precise_enough(estimate([None, None]), 0.05)


def test_agreement_of_one_run_with_a_prediction() -> None:
    predicted = estimate([10.0, 12.0, 11.0, 9.0, 13.0])
    assert agrees(estimate([12.5]), predicted)
    assert not agrees(estimate([40.0]), predicted)
    assert agrees(estimate([11.0, 12.0, 10.0]), predicted)
    assert not agrees(estimate([30.0, 31.0, 29.0]), predicted)
    assert agrees(estimate([None]), predicted) is None
