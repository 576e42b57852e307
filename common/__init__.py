"""The shared leaf every room may import: the injected clock and the duration type.

Nothing here imports another room of ours (``tests/test_layering.py`` guards it).
"""

from common.clock import Clock, ManualClock, MonotonicClock
from common.durations import Duration, format_duration, parse_duration

__all__ = [
    "Clock",
    "Duration",
    "ManualClock",
    "MonotonicClock",
    "format_duration",
    "parse_duration",
]
