"""The published scenario schema describes every step kind."""

from __future__ import annotations

from asmkit.schemas import PUBLISHED
from scenarios import Scenario


def test_schema_lists_step_kinds() -> None:
    text = next(p for p in PUBLISHED if p.model is Scenario).text()
    for kind in ("RequestStep", "ControlPlaneStep", "WaitStep", "EventuallyStep", "AnalyticsStep"):
        assert kind in text
