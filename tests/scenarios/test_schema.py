"""The published JSON Schema is generated from the models and kept in sync."""

from __future__ import annotations

from scenarios.schema import SCHEMA_PATH, schema_text


def test_committed_schema_is_current() -> None:
    assert SCHEMA_PATH.read_text() == schema_text(), "run: asmkit schema"


def test_schema_lists_step_kinds() -> None:
    text = schema_text()
    for kind in ("RequestStep", "ControlPlaneStep", "WaitStep", "EventuallyStep", "AnalyticsStep"):
        assert kind in text
