"""An interrupted ``asmkit conformance`` (SIGINT from a terminal, SIGTERM from a CI system that
cancels or times out a job) writes a report that says so and lists the cases it did not run,
exits non-zero, and leaves no adapter (or any other child) running. The signals are sent to a
real ``asmkit conformance`` process running adapters as child processes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from scenarios import LIBRARY

ROOT = Path(__file__).resolve().parents[2]
PROCESS_PROFILE = ROOT / "conformance" / "profiles" / "reference-adapter-process.yaml"
FOLDER = LIBRARY / "client_id_enforcement"


def _children() -> dict[int, int]:
    """pid -> parent pid of every process on the machine."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def descendants(root: int) -> set[int]:
    parents = _children()
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped has stopped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize(
    ("sig", "workers"),
    [(signal.SIGINT, []), (signal.SIGTERM, []), (signal.SIGTERM, ["-n", "2"])],
    ids=["SIGINT", "SIGTERM", "SIGTERM-xdist"],
)
def test_an_interrupted_run_says_so_lists_the_rest_and_stops_every_child(
    sig: signal.Signals, workers: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    scenarios = sorted(FOLDER.glob("*.scenario.yaml"))
    process = subprocess.Popen(
        [sys.executable, "-m", "asmkit.cli", "conformance", "--adapter", str(PROCESS_PROFILE),
         "--scenarios", str(FOLDER), "--report-dir", str(out), *workers],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, start_new_session=True,
    )  # fmt: skip
    seen: set[int] = set()
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and process.poll() is None:
            seen |= descendants(process.pid)
            logs = list((out / "logs").glob("*.adapter.log")) if (out / "logs").exists() else []
            if len(logs) >= 3:  # the third case's adapter is starting: one case at least is done
                break
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=0.05)
        assert process.poll() is None, "the run ended before it could be interrupted"
        seen |= descendants(process.pid)
        process.send_signal(sig)
        output, _ = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + sig, output
    assert "Traceback" not in output, output
    assert "INTERRUPTED" in output and sig.name in output, output
    report = yaml.safe_load((out / "conformance-report.yaml").read_text())
    assert report["interrupted"] is True
    assert report["result"] == "interrupted"
    outcomes = {case["name"]: case["outcome"] for case in report["cases"]}
    assert len(outcomes) == len(scenarios), outcomes
    assert list(outcomes.values()).count("passed") >= 1, outcomes
    not_run = [name for name, outcome in outcomes.items() if outcome == "not_run"]
    assert not_run, outcomes
    assert set(report["notRun"]) == set(not_run)
    junit = (out / "junit.xml").read_text()
    assert junit.count("<testcase") == len(scenarios)
    assert "not_run" in junit
    assert seen, "the adapters ran as child processes"
    settle = time.monotonic() + 5  # a child that got SIGTERM at the very end may still be exiting
    while any(alive(pid) for pid in seen) and time.monotonic() < settle:
        threading.Event().wait(0.05)
    left = {pid: _cmdline(pid) for pid in seen if alive(pid)}
    for pid in left:  # this test's own grandchildren: never leave them running
        os.kill(pid, signal.SIGKILL)
    assert not left, f"child processes outlived the run: {left}\n{output}"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]
    except OSError:
        return "?"
