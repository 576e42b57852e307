"""`FastBatcher`: the reference `AnalyticsBatcher` plus `add_bulk`, which records a run of
events with exactly the outcome of one `add` per event (used by the fast lane), and `drain`
(what a clean stop posts)."""

from __future__ import annotations

from reference_adapter.batcher import AnalyticsBatcher


class FastBatcher(AnalyticsBatcher[float]):
    """`AnalyticsBatcher` (events are decision times) with `room` and `add_bulk`."""

    def room(self) -> int:
        """How many more events `add` would accept now."""
        return max(0, self.capacity - self.held)

    def add_bulk(self, events: list[float]) -> int:
        """``add`` each event; returns how many were accepted (the first ones)."""
        count = len(events)
        self.stats.recorded += count
        accept = min(count, self.room())
        if accept == count:
            self._buffer.extend(events)
        else:
            self._buffer.extend(events[:accept])
            self.stats.dropped += count - accept
        return accept

    def drain(self) -> list[float]:
        """Every event held (a pending batch's first), leaving the batcher empty: what a clean
        stop posts in its final flush."""
        events = list(self._pending.events) if self._pending is not None else []
        events.extend(self._buffer)
        self._buffer.clear()
        self._pending = None
        self._in_flight = False
        return events
