"""`LogHistogram`: the kit's one percentile tool. A fixed log-bucketed histogram (1% wide
buckets from 1 µs to 11 days, in seconds) for latencies and delays, like HdrHistogram: bounded
memory whatever the count, merged by adding counts, percentiles exact to the bucket (1%)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

LOW = 1e-6
RATIO = 1.01
BUCKETS = math.ceil(math.log(1e12) / math.log(RATIO)) + 2
_LOG_RATIO = math.log(RATIO)


class LogHistogram:
    """Counts of values in buckets ``[LOW*RATIO**(i-1), LOW*RATIO**i)``; bucket 0 holds values
    below ``LOW`` (including 0)."""

    def __init__(self) -> None:
        self.counts = np.zeros(BUCKETS, dtype=np.int64)
        self.total = 0
        self.sum = 0.0
        self.max = 0.0

    def add_many(self, values: Sequence[float] | np.ndarray) -> None:
        arr = np.asarray(values, dtype=np.float64)
        if arr.size == 0:
            return
        idx = np.zeros(arr.shape, dtype=np.int64)
        positive = arr >= LOW
        idx[positive] = np.floor(np.log(arr[positive] / LOW) / _LOG_RATIO).astype(np.int64) + 1
        np.clip(idx, 0, BUCKETS - 1, out=idx)
        self.counts += np.bincount(idx, minlength=BUCKETS)
        self.total += int(arr.size)
        self.sum += float(arr.sum())
        self.max = max(self.max, float(arr.max()))

    def add(self, value: float) -> None:
        """One value, in the bucket `add_many` picks, without NumPy's per-call cost (a live
        load adds several per request)."""
        index = 0
        if value >= LOW:
            position = math.log(value / LOW) / _LOG_RATIO
            index = BUCKETS - 1 if position >= BUCKETS - 1 else int(position) + 1
        self.counts[index] += 1
        self.total += 1
        self.sum += value
        if value > self.max:
            self.max = value

    @classmethod
    def of(cls, values: Sequence[float] | np.ndarray) -> LogHistogram:
        """A histogram holding ``values`` (seconds)."""
        hist = cls()
        hist.add_many(values)
        return hist

    def merge(self, other: LogHistogram) -> None:
        self.counts += other.counts
        self.total += other.total
        self.sum += other.sum
        self.max = max(self.max, other.max)

    def percentile(self, q: float) -> float | None:
        """The ``q``-th percentile (0-100) as its bucket's geometric middle; None when empty."""
        if self.total == 0:
            return None
        rank = max(1, math.ceil(self.total * q / 100.0))
        index = int(np.searchsorted(np.cumsum(self.counts), rank))
        if index == 0:
            return 0.0
        value = float(LOW * RATIO ** (index - 0.5))
        return min(value, self.max)

    @property
    def mean(self) -> float | None:
        return self.sum / self.total if self.total else None

    def to_counts(self) -> dict[int, int]:
        """The non-empty buckets (index -> count): a compact form to send between processes."""
        nz = np.nonzero(self.counts)[0]
        return {int(i): int(self.counts[i]) for i in nz}

    def add_counts(self, counts: dict[int, int], total_sum: float, top: float) -> None:
        """Merge buckets produced by `to_counts` elsewhere (another process)."""
        for index, count in counts.items():
            if not 0 <= int(index) < BUCKETS or int(count) < 0:
                raise ValueError(f"histogram bucket {index}={count} is out of range")
            self.counts[int(index)] += int(count)
            self.total += int(count)
        self.sum += float(total_sum)
        self.max = max(self.max, float(top))
