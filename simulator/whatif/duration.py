"""Durations in what-if specs: the scenario format's parser (``250ms``, ``15s``, ``20m``,
``1h`` or seconds), published in the JSON Schema as a number or such a string."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, WithJsonSchema

from scenarios.durations import parse_duration

Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": r"^\s*\d+(\.\d+)?\s*(ms|s|m|h)\s*$"},
            ],
            "description": "Seconds, or a string such as 250ms, 15s, 20m, 1h.",
        }
    ),
]
"""Seconds, written as a number or a string with a unit."""
