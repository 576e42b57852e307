"""Durations as scenario authors write them: ``250ms``, ``2s``, ``1.5m``, ``1h``, or seconds."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$")


def parse_duration(value: object) -> float:
    """Seconds from a number or a string with a unit; raises ``ValueError`` with the fix."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 500ms, 2s or 1m, got {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"a duration cannot be negative, got {value!r}")
        return float(value)
    if isinstance(value, str):
        match = _PATTERN.match(value)
        if match:
            return float(match.group(1)) * _UNITS[match.group(2)]
    raise ValueError(f"expected a duration such as 500ms, 2s or 1m, got {value!r}")


def format_duration(seconds: float) -> str:
    """The shortest readable form: ``250ms``, ``2s``, ``1.5s``."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    return f"{seconds:g}s"


Duration = Annotated[float, BeforeValidator(parse_duration)]
"""Seconds, written by authors as a number or a string with a unit."""
