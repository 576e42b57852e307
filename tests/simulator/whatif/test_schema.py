"""The committed JSON Schema of what-if specs is the one the models generate."""

from __future__ import annotations

from simulator.whatif.schema import SCHEMA_PATH, schema_text, whatif_schema


def test_committed_schema_is_current() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "regenerate with: python -m simulator.whatif.schema"
    )


def test_durations_accept_numbers_and_strings() -> None:
    duration = whatif_schema()["properties"]["duration"]
    kinds = {option["type"] for option in duration["anyOf"]}
    assert kinds == {"number", "string"}
