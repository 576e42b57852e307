"""``asmkit whatif --live`` and ``--precision`` through the command line: a short live run
writes the report with the live-versus-virtual table; a run planned past --max-wall is refused
with the fix; --precision replicates until the intervals are narrow."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from asmkit.cli import main
from tests.simulator.whatif.helpers import base, write

REVOKE = {"at": 2.0, "revoke_contract": {"application": "mobile", "api": "orders"}}


def test_a_short_live_run_writes_the_comparison(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write(
        tmp_path,
        base(
            duration=40.0, adapter={"contracts_interval": 10.0}, timeline=[{**REVOKE, "at": 20.0}]
        ),
    )
    out = tmp_path / "report"
    argv = [
        "whatif", str(spec), "--live", "--time-scale", "0.1", "--rate-scale", "0.4",
        "--replications", "1", "--report-dir", str(out), "--no-plots",
    ]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "wrongly_allowed" in text and "within" in text and "wrong_beyond_lag" in text
    data = yaml.safe_load((out / "whatif.yaml").read_text())
    assert data["engine"] == "live" and data["environment"]["time_scale"] == 0.1
    rows = {r["metric"]: r for r in data["points"][0]["comparison"]}
    assert rows["requests"]["within_interval"] is True
    assert (
        "--live" in data["command"] and "Live versus virtual" in (out / "report.html").read_text()
    )


def test_a_long_live_run_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write(tmp_path, base(duration=3600.0))
    assert main(["whatif", str(spec), "--live", "--replications", "1"]) == 2
    err = capsys.readouterr().err
    assert "--max-wall" in err and "--allow-long" in err and "Traceback" not in err
    assert main(["whatif", str(spec), "--live", "--time-scale", "0"]) == 2
    assert "--time-scale 0" in capsys.readouterr().err


def test_precision_replicates_until_the_intervals_are_narrow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = write(tmp_path, base(duration=10.0, timeline=[{**REVOKE, "at": 5.0}]))
    out = tmp_path / "report"
    argv = ["whatif", str(spec), "--precision", "0.2", "--max-replications", "12", "--fast"]
    assert main([*argv, "--report-dir", str(out), "--no-plots"]) == 0
    data = yaml.safe_load((out / "whatif.yaml").read_text())
    n = data["points"][0]["metrics"]["wrongly_allowed"]["n"]
    assert 2 <= n <= 12 and data["replications"] == n
    assert main(["whatif", str(spec), "--precision", "2"]) == 2
