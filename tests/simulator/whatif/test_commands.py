"""``asmkit whatif``: the summary table, the report folder, and errors without tracebacks."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest
import yaml

from reports.whatif import write_whatif_report
from simulator.whatif.commands import add_whatif_parser, main

from .helpers import base, write

REVOKE = {"at": 5.0, "revoke_contract": {"application": "mobile", "api": "orders"}}


def test_registers_on_a_subparsers_object() -> None:
    parser = argparse.ArgumentParser(prog="asmkit")
    add_whatif_parser(parser.add_subparsers())
    args = parser.parse_args(["whatif", "x.whatif.yaml", "--replications", "2", "--fast"])
    assert args.spec == "x.whatif.yaml" and args.replications == 2 and args.fast
    assert callable(args.func)


def test_runs_a_sweep_and_writes_data_and_html(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = base(
        duration=15.0,
        timeline=[REVOKE],
        sweep={"setting": "adapter.contracts_interval", "values": ["1s", "5s"]},
    )
    spec = write(tmp_path, data)
    out_dir = tmp_path / "report"
    code = main(
        [str(spec), "--report-dir", str(out_dir), "--replications", "2", "--fast"],
        write_report=write_whatif_report,
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "wrongly_allowed" in printed and "adapter.contracts_interval" in printed
    assert f"wrote {out_dir / 'report.html'}" in printed
    report = yaml.safe_load((out_dir / "whatif.yaml").read_text())
    assert report["name"] == "t" and report["replications"] == 2
    assert [p["label"] for p in report["points"]] == ["1s", "5s"]
    assert [p["x"] for p in report["points"]] == [1.0, 5.0]
    assert report["points"][0]["metrics"]["wrongly_allowed"]["n"] == 2
    assert "--seed 1 --replications 2 --fast" in report["command"]
    html = (out_dir / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 2
    assert "Wrongly allowed requests per bin" in html and "Sweep: wrongly_allowed" in html


def test_json_format_without_plots_does_not_import_matplotlib(tmp_path: Path) -> None:
    spec = write(tmp_path, base(duration=5.0, replications=1))
    sys.modules.pop("matplotlib", None)
    code = main([str(spec), "--report-dir", str(tmp_path / "r"), "--format", "json", "--no-plots"])
    assert code == 0
    data = json.loads((tmp_path / "r" / "whatif.json").read_text())
    assert data["points"][0]["metrics"]["requests"]["mean"] > 0
    assert "matplotlib" not in sys.modules


def test_a_bad_spec_exits_2_with_a_positioned_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = base()
    data["adapter"]["replicas"] = 0
    spec = write(tmp_path, data)
    assert main([str(spec), "--report-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert f"{spec}:" in err and "adapter.replicas" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()
    assert main([str(tmp_path / "missing.whatif.yaml")]) == 2
    assert "cannot read the what-if spec" in capsys.readouterr().err


def test_a_policy_the_adapter_cannot_configure_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = base(duration=3.0, replications=1)
    data["control_plane"]["apis"][0]["policies"].append(
        {"key": "odd", "asset_id": "no-such-policy", "configuration": {}}
    )
    spec = write(tmp_path, data)
    assert main([str(spec), "--report-dir", str(tmp_path / "r"), "--no-plots"]) == 0
    err = capsys.readouterr().err
    assert "warning: API" in err and "no-such-policy" in err
    assert main([str(spec), "--seed", "-1"]) == 2


def test_registering_the_command_does_not_import_the_engine() -> None:
    import subprocess

    code = (
        "import sys, simulator.whatif.commands; "
        "print(sorted(m for m in ('simpy', 'numpy', 'matplotlib', 'faker') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert out.stdout.strip() == "[]"
