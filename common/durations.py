"""Durations as people write them in every document of the kit: ``250ms``, ``2s``, ``1.5m``,
``1h``, or a number of seconds (also as text, as command lines pass it); published in JSON
Schemas as exactly that."""

from __future__ import annotations

import math
import re
from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
PATTERN = r"^\s*\d+(\.\d+)?\s*(ms|s|m|h)?\s*$"
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
MAX_SECONDS = 366 * 24 * 3600.0
"""The longest duration any document may name (a year): longer values are typos or attacks."""


def parse_duration(value: object) -> float:
    """Seconds from a number or a string with a unit; raises ``ValueError`` with the fix."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 500ms, 2s or 1m, got {value!r}")
    seconds: float | None = None
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        match = _PATTERN.match(value)
        if match:
            seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds is None:
        raise ValueError(f"expected a duration such as 500ms, 2s or 1m, got {value!r}")
    if not math.isfinite(seconds) or seconds < 0 or seconds > MAX_SECONDS:
        raise ValueError(
            f"a duration must be between 0 and {MAX_SECONDS:g}s (a year), got {value!r}"
        )
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest readable form: ``250ms``, ``2s``, ``1.5s``."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    return f"{seconds:g}s"


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": MAX_SECONDS},
                {"type": "string", "pattern": PATTERN},
            ],
            "description": "Seconds, or a string such as 250ms, 15s, 20m, 1h.",
        }
    ),
]
"""Seconds, written by authors as a number or a string with a unit."""
