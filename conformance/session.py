"""One conformance run's shared state inside pytest: the adapter profile, the options, every
scenario result, and writing the reports at the end (also when the run is interrupted)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conformance.interrupts import Interrupts
from conformance.options import RunOptions
from conformance.report_build import build_report, report_paths
from conformance.results import Outcome, ScenarioResult
from conformance.selection import claimed_features
from live.launch import kill_leftovers
from live.profile import AdapterProfile, load_profile
from reports import ConformanceReport, write_html, write_junit, write_yaml
from scenarios.loader import SUFFIX, lenient_summary
from scenarios.problems import ScenarioError


class ConformanceSession:
    """Collects results and writes the reports; an interrupted run (SIGINT, or SIGTERM, which
    it turns into SIGINT) reports the cases it did not finish as ``not_run``."""

    def __init__(self, options: RunOptions) -> None:
        self.options = options
        self.results: list[ScenarioResult] = []
        self.started = time.monotonic()
        self._profile: AdapterProfile | None = None
        self.report: ConformanceReport | None = None
        self.written: dict[str, Path] = {}
        self.interrupts = Interrupts()
        self.redaction_key = os.urandom(16)
        """One key per run, so a secret gets the same placeholder in every case of it."""
        self.collected: dict[str, tuple[str, Path]] = {}
        """pytest node id -> (scenario name, file) of every case to run."""
        self.finished: set[str] = set()
        """The node ids that produced a result."""
        self.running: str | None = None

    @property
    def profile(self) -> AdapterProfile:
        if self._profile is None:
            profile = load_profile(self.options.adapter)
            features = profile.features
            if self.options.supported_features is not None:
                features = features.model_copy(
                    update={"supported": self.options.supported_features}
                )
            if self.options.exempt_features:
                features = features.model_copy(
                    update={"exempt": [*features.exempt, *self.options.exempt_features]}
                )
            update: dict[str, object] = {"features": features}
            if self.options.timeout_scale is not None:
                update["timeout_scale"] = self.options.timeout_scale
            self._profile = profile.model_copy(update=update)
        return self._profile

    @property
    def claimed(self) -> set[str]:
        return claimed_features(self.profile)

    def log_dir(self) -> Path | None:
        if self.options.report_dir is None:
            return None
        path = self.options.report_dir / "logs"
        path.mkdir(parents=True, exist_ok=True)
        return path

    # pytest hooks (the session is registered as a plugin by conformance.plugin)

    def pytest_configure(self, config: pytest.Config) -> None:
        key = getattr(config, "workerinput", {}).get("asm_redaction_key")
        if key:  # an xdist worker: the controller's key
            self.redaction_key = bytes.fromhex(key)

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """Hand the run's redaction key to each xdist worker."""
        node.workerinput["asm_redaction_key"] = self.redaction_key.hex()

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.interrupts.install()

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodeready(self, node: Any) -> None:
        """An xdist worker is up: remember its pid to hand it SIGINT/SIGTERM."""
        popen = getattr(getattr(getattr(node, "gateway", None), "_io", None), "popen", None)
        pid = getattr(popen, "pid", None)
        if isinstance(pid, int):
            self.interrupts.workers.append(pid)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.interrupts.uninstall()

    def pytest_keyboard_interrupt(self) -> None:
        self.interrupts.note_interrupt()

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:
            if item.path.name.endswith(SUFFIX):
                self.collected[item.nodeid] = (item.name, item.path)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """The xdist controller learns the cases from its workers' collections (node ids are
        relative to the root folder or to the folder given on the command line)."""
        config = node.config
        bases = [config.rootpath, *(Path(a) for a in config.args), Path.cwd()]
        for nodeid in ids:
            file, _, name = nodeid.partition("::")
            if file.endswith(SUFFIX) and name:
                found = (b / file for b in bases if (b / file).is_file())
                self.collected[nodeid] = (name, next(found, Path(file)))

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.running = nodeid

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        self.running = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Gather results where reports arrive: the only process, or the xdist controller."""
        if report.when not in ("setup", "call"):
            return
        for name, value in report.user_properties:
            if name == "asmkit_result" and isinstance(value, dict):
                self.results.append(ScenarioResult.from_dict(value))
                self.finished.add(report.nodeid)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        for leftover in kill_leftovers():
            print(
                f"asmkit: killed {leftover}, left running by an interrupted case", file=sys.stderr
            )
        if hasattr(session.config, "workerinput"):
            return  # an xdist worker: the controller writes the report
        self.finish(interrupted=exitstatus == pytest.ExitCode.INTERRUPTED)

    def not_run(self) -> list[ScenarioResult]:
        """A ``not_run`` result for every collected case without a result."""
        by = f" by {self.interrupts.received}" if self.interrupts.received else ""
        missing = []
        for nodeid, (name, file) in self.collected.items():
            if nodeid in self.finished:
                continue
            description, features = lenient_summary(file)
            when = "while this case ran" if nodeid == self.running else "before this case ran"
            missing.append(
                ScenarioResult(
                    name=name,
                    path=str(file),
                    description=description,
                    features=features,
                    outcome=Outcome.NOT_RUN,
                    reason=f"the run was interrupted{by} {when}",
                )
            )
        return missing

    def finish(self, *, interrupted: bool) -> None:
        """Write the reports (if a report folder was given and anything was collected)."""
        if self.options.report_dir is None or not (self.results or self.collected):
            return
        try:
            profile = self.profile
        except ScenarioError:  # already reported as a usage error: nothing ran
            return
        results = [*self.results, *(self.not_run() if interrupted else [])]
        if interrupted:
            self.interrupts.note_interrupt()
        report = build_report(
            profile,
            results,
            self.options,
            duration_s=time.monotonic() - self.started,
            interrupted=interrupted,
            interrupted_by=self.interrupts.received if interrupted else "",
        )
        paths = report_paths(self.options.report_dir)
        write_yaml(report, paths["yaml"])
        write_junit(report, paths["junit"])
        write_html(report, paths["html"])
        self.report = report
        self.written = paths


SESSION_KEY = pytest.StashKey[ConformanceSession]()
"""Where the plugin keeps the session on ``pytest.Config.stash``."""
