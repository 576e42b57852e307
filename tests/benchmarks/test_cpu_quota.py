"""`benchmarks.cpu_quota`: a busy-looping child held to 0.3 CPU by a real cgroup uses at most
about that, its group is gone afterwards; the files written for cgroup v1 and v2 (on a stand-in
root), and a reason, never an exception, when no controller can be used."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from benchmarks.cpu_quota import CGROUP_ROOT, CpuQuotas, find_controller


def _cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` from /proc (fields 14 and 15, after the command's parens)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_busy_child_is_held_to_its_cap_and_the_group_is_removed() -> None:
    found = find_controller(CGROUP_ROOT)
    assert not isinstance(found, str), found  # root with a cgroup cpu controller, as in CI
    child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        with CpuQuotas() as quotas:
            assert quotas.cap(child.pid, 0.3) is None
            group = found[0] / quotas.group_name(child.pid)
            assert str(child.pid) in (group / "cgroup.procs").read_text().split()
            cpu, wall = _cpu_seconds(child.pid), time.perf_counter()
            threading.Event().wait(2.0)
            used = (_cpu_seconds(child.pid) - cpu) / (time.perf_counter() - wall)
            periods = quotas.throttled(child.pid)
            child.kill()
            child.wait(timeout=10)
        assert 0.03 < used <= 0.4, used
        # the cap held it back whenever it reached it (a crowded machine may give it less)
        assert periods is not None and periods[0] > 0 and (periods[1] > 0 or used < 0.25)
        assert not group.exists()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)


def test_a_group_still_holding_a_process_is_emptied_then_removed() -> None:
    """A benchmark that fails before its workers exit leaves no group behind."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        quotas = CpuQuotas()
        assert quotas.cap(child.pid, 0.5) is None
        assert quotas.close() == []
        assert not (_parent() / quotas.group_name(child.pid)).exists()
        assert child.poll() is None  # moved back to the parent group, still running
    finally:
        child.kill()
        child.wait(timeout=10)


def _parent() -> Path:
    found = find_controller(CGROUP_ROOT)
    assert not isinstance(found, str), found
    return found[0]


def test_cgroup_v1_files_on_a_stand_in_root(tmp_path: Path) -> None:
    cpu = tmp_path / "cpu"
    cpu.mkdir()
    (cpu / "cpu.cfs_quota_us").write_text("-1\n")
    (cpu / "cgroup.procs").write_text("")
    quotas = CpuQuotas(root=tmp_path, prefix="t")
    assert quotas.unavailable is None
    assert quotas.cap(4321, 0.25) is None
    group = cpu / quotas.group_name(4321)
    assert (group / "cpu.cfs_period_us").read_text() == "100000"
    assert (group / "cpu.cfs_quota_us").read_text() == "25000"
    assert (group / "cgroup.procs").read_text() == "4321"
    (group / "cpu.stat").write_text("nr_periods 10\nnr_throttled 7\nthrottled_time 5\n")
    assert quotas.throttled(4321) == (10, 7)
    assert quotas.throttled(1) is None
    # on a real cgroup filesystem the control files go with the directory; here they are files
    left = quotas.close()
    assert len(left) == 1 and str(group) in left[0]
    assert (cpu / "cgroup.procs").read_text() == "4321"  # the process was moved back first


def test_cgroup_v2_files_on_a_stand_in_root(tmp_path: Path) -> None:
    unified = tmp_path / "unified"
    unified.mkdir()
    (unified / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (unified / "cgroup.subtree_control").write_text("memory\n")
    quotas = CpuQuotas(root=tmp_path, prefix="t")
    assert quotas.cap(99, 0.5) is None
    assert (unified / "cgroup.subtree_control").read_text() == "+cpu"
    group = unified / quotas.group_name(99)
    assert (group / "cpu.max").read_text() == "50000 100000"
    assert (group / "cgroup.procs").read_text() == "99"


def test_unavailable_caps_say_why(tmp_path: Path) -> None:
    empty = CpuQuotas(root=tmp_path)
    assert empty.unavailable is not None and "no cgroup cpu controller" in empty.unavailable
    assert empty.cap(1, 0.5) == empty.unavailable
    assert empty.close() == []

    (tmp_path / "cgroup.controllers").write_text("memory pids\n")  # v2 without cpu
    assert isinstance(find_controller(tmp_path), str)

    (tmp_path / "cgroup.controllers").write_text("cpu memory\n")
    (tmp_path / "cgroup.subtree_control").mkdir()  # cannot be written: the cpu controller
    quotas = CpuQuotas(root=tmp_path)  # is not delegated (as when the root holds processes)
    why = quotas.cap(1, 0.5)
    assert why is not None and why.startswith(f"cannot make a cgroup in {tmp_path}")
    assert quotas.close() == []


def test_a_cap_below_the_kernels_minimum_is_refused() -> None:
    with pytest.raises(ValueError, match=r"at least 0\.01 of a CPU"):
        CpuQuotas(root=Path("/nonexistent")).cap(1, 0.001)
