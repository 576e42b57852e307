"""`LogHistogram.add` (one value, no NumPy per call) puts every value where `add_many` does."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from common.histogram import BUCKETS, LOW, LogHistogram

EDGES = [0.0, -1.0, LOW / 2, LOW, LOW * 1.01, 1e-3, 0.2, 1.0, 3600.0, 1e7, 1e300]


def test_add_matches_add_many_at_the_edges() -> None:
    one, many = LogHistogram(), LogHistogram()
    for value in EDGES:
        one.add(value)
    many.add_many(EDGES)
    assert np.array_equal(one.counts, many.counts)
    assert (one.total, one.max) == (many.total, many.max)
    assert one.counts[BUCKETS - 1] == 2  # 1e7 s and 1e300 s: past the top (11 days)


@given(st.lists(st.floats(min_value=0.0, max_value=1e6, allow_nan=False), max_size=200))
def test_add_matches_add_many(values: list[float]) -> None:
    one, many = LogHistogram(), LogHistogram()
    for value in values:
        one.add(value)
    many.add_many(values)
    assert np.array_equal(one.counts, many.counts)
    assert one.total == many.total and one.max == many.max
    assert math.isclose(one.sum, many.sum, rel_tol=1e-9, abs_tol=1e-12)


def test_add_takes_infinity_into_the_top_bucket() -> None:
    hist = LogHistogram()
    hist.add(math.inf)
    assert hist.counts[BUCKETS - 1] == 1 and hist.max == math.inf
