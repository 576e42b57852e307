"""The what-if library: each spec's seeded summary equals its committed expected summary
(regenerate with ``python -m simulator.whatif.expected --write`` after a deliberate change)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from simulator.whatif.expected import current_summary, expected_path, library_specs


@pytest.mark.parametrize("spec", library_specs(), ids=lambda p: p.name)
def test_summary_matches_the_committed_one(spec: Path) -> None:
    expected = yaml.safe_load(expected_path(spec).read_text(encoding="utf-8"))
    assert current_summary(spec) == expected


def test_library_answers_its_questions() -> None:
    by_name = {p.name: p for p in library_specs()}
    revocation = yaml.safe_load(
        expected_path(by_name["contract-revocation.whatif.yaml"]).read_text()
    )
    lags = [p["metrics"]["wrongly_allowed"]["mean"] for p in revocation["points"]]
    assert lags == sorted(lags) and lags[0] > 0
    quota = yaml.safe_load(expected_path(by_name["replica-quota.whatif.yaml"]).read_text())
    per, shared = quota["points"]
    assert per["metrics"]["quota_overshoot_max"]["mean"] > 0
    assert shared["metrics"]["quota_overshoot_max"]["mean"] == 0
    outage = yaml.safe_load(
        expected_path(by_name["analytics-ingest-outage.whatif.yaml"]).read_text()
    )
    point = outage["points"][0]["metrics"]
    assert point["analytics_dropped"]["mean"] > 0
    assert point["buffer_high_water"]["mean"] == 50_000
