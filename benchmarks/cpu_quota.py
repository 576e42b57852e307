"""Holding a process to a fraction of one CPU with a cgroup of its own: the cgroup v1 ``cpu``
controller (``cpu.cfs_quota_us``) or cgroup v2 (``cpu.max``); every group made is removed when
the `CpuQuotas` closes. Needs root (or a delegated, writable cgroup)."""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path
from types import TracebackType

CGROUP_ROOT = Path("/sys/fs/cgroup")
PERIOD_US = 100_000
"""The scheduling period the quota is a share of (100 ms, the kernel's default)."""
MIN_QUOTA_US = 1_000
"""The kernel refuses quotas under 1 ms per period."""


def find_controller(root: Path) -> tuple[Path, int] | str:
    """The directory to make groups in and its cgroup version, or why there is none."""
    for v1 in (root / "cpu", root):
        if (v1 / "cpu.cfs_quota_us").is_file():
            return _writable(v1, 1)
    for v2 in (root, root / "unified"):
        controllers = v2 / "cgroup.controllers"
        if controllers.is_file() and "cpu" in controllers.read_text().split():
            return _writable(v2, 2)
    return (
        f"no cgroup cpu controller under {root} (neither cgroup v1's {root}/cpu nor cgroup v2"
        " with the cpu controller enabled), so CPU caps are unavailable"
    )


def _writable(parent: Path, version: int) -> tuple[Path, int] | str:
    if not os.access(parent, os.W_OK):
        return f"{parent} is not writable (capping CPU with cgroups needs root)"
    return parent, version


class CpuQuotas:
    """Caps processes, each in a group of its own (``{prefix}-{our pid}-{its pid}``) under the
    cgroup root; `close` (or leaving the ``with`` block) moves any process still in a group
    back to the parent and removes every group. ``unavailable`` says why caps cannot be made
    (None when they can)."""

    def __init__(self, root: Path = CGROUP_ROOT, prefix: str = "asmkit-cpu") -> None:
        found = find_controller(root)
        self.unavailable: str | None = found if isinstance(found, str) else None
        self._parent, self._version = found if not isinstance(found, str) else (root, 0)
        self._prefix = prefix
        self._groups: dict[int, Path] = {}

    def __enter__(self) -> CpuQuotas:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def group_name(self, pid: int) -> str:
        """The name of the group `cap` puts ``pid`` in."""
        return f"{self._prefix}-{os.getpid()}-{pid}"

    def cap(self, pid: int, fraction: float) -> str | None:
        """Hold ``pid`` to ``fraction`` of one CPU (its threads together); None when done,
        else why not (one sentence). The cap lasts until `close`."""
        if not math.isfinite(fraction) or fraction * PERIOD_US < MIN_QUOTA_US:
            raise ValueError(
                f"CPU cap {fraction!r} must be at least {MIN_QUOTA_US / PERIOD_US} of a CPU"
            )
        if self.unavailable is not None:
            return self.unavailable
        group = self._parent / self.group_name(pid)
        quota = round(fraction * PERIOD_US)
        try:
            if self._version == 2:
                self._enable_cpu_v2()
            group.mkdir()
        except OSError as err:
            return f"cannot make a cgroup in {self._parent}: {err.strerror or err}"
        self._groups[pid] = group
        try:
            if self._version == 1:
                (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (group / "cpu.cfs_quota_us").write_text(str(quota))
            else:
                (group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
            (group / "cgroup.procs").write_text(str(pid))
        except OSError as err:
            return f"cannot cap process {pid} in {group}: {err.strerror or err}"
        return None

    def _enable_cpu_v2(self) -> None:
        """cgroup v2 gives a child the cpu controller only when its parent delegates it."""
        control = self._parent / "cgroup.subtree_control"
        if "cpu" not in control.read_text().split():
            control.write_text("+cpu")

    def throttled(self, pid: int) -> tuple[int, int] | None:
        """(periods ``pid``'s group ran in, periods the cap held it back in) so far, from the
        group's ``cpu.stat``; None when ``pid`` is not capped here."""
        group = self._groups.get(pid)
        if group is None:
            return None
        try:
            lines = (group / "cpu.stat").read_text().splitlines()
        except OSError:
            return None
        stat = {k: v for k, _, v in (line.partition(" ") for line in lines)}
        if not stat.get("nr_periods", "").isdigit() or not stat.get("nr_throttled", "").isdigit():
            return None
        return int(stat["nr_periods"]), int(stat["nr_throttled"])

    def close(self) -> list[str]:
        """Remove every group made (processes still in one go back to the parent first);
        what could not be removed, one sentence each."""
        left: list[str] = []
        for group in self._groups.values():
            try:
                for pid in (group / "cgroup.procs").read_text().split():
                    with contextlib.suppress(OSError):  # it exited meanwhile
                        (self._parent / "cgroup.procs").write_text(pid)
                group.rmdir()
            except FileNotFoundError:
                pass
            except OSError as err:
                left.append(f"cannot remove the cgroup {group}: {err.strerror or err}")
        self._groups.clear()
        return left
