"""The what-if renderer (``reports.whatif``): plain data in, data file and HTML out."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from reports.whatif import render_html, report_from_dict, write_whatif_report
from simulator.whatif import run_whatif
from simulator.whatif.report_data import report_data

from .helpers import base, load

REVOKE = {"at": 5.0, "revoke_contract": {"application": "mobile", "api": "orders"}}


def test_plain_data_round_trips_and_renders(tmp_path: Path) -> None:
    run = run_whatif(load(tmp_path, base(duration=10.0, timeline=[REVOKE])), fast=True)
    data = report_data(run, "asmkit whatif t.whatif.yaml")
    json.dumps(data)  # plain data only
    report = report_from_dict(data)
    assert report.points[0].metrics["wrongly_allowed"]["mean"] > 0
    html = render_html(report)
    assert "<code>wrongly_allowed</code>" in html and "revoke contract" in html
    assert "asmkit whatif t.whatif.yaml" in html
    paths = write_whatif_report(data, tmp_path / "out", fmt="yaml", plots=False)
    assert [p.name for p in paths] == ["whatif.yaml", "report.html"]
    assert yaml.safe_load(paths[0].read_text())["points"][0]["changes"][0]["kind"] == "contracts"
