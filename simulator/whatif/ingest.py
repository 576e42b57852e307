"""`IngestModel`: the analytics ingest as the what-if sees it. Batches are keyed by their
``X-Batch-Id``: the first copy is delivered, later copies count as duplicates; each delivered
event's delay (delivery time - decision time) goes into a histogram."""

from __future__ import annotations

import numpy as np

from common.histogram import LogHistogram


class IngestModel:
    """Delivered, duplicated and per-bin delivered counts for one run."""

    def __init__(self, bins: int, bin_s: float) -> None:
        self.batches: set[str] = set()
        self.delivered = 0
        self.duplicated = 0
        self.duplicate_batches = 0
        self.delay = LogHistogram()
        self.per_bin = [0] * bins
        self._bin_s = bin_s

    def receive(self, batch_id: str, events: list[float], now: float) -> None:
        """A post reached the ingest (whether or not its answer reaches the adapter)."""
        if batch_id in self.batches:
            self.duplicated += len(events)
            self.duplicate_batches += 1
            return
        self.batches.add(batch_id)
        self.delivered += len(events)
        self.delay.add_many(now - np.asarray(events, dtype=np.float64))
        b = min(int(now / self._bin_s), len(self.per_bin) - 1)
        self.per_bin[b] += len(events)
