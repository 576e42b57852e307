"""One conformance run's shared state inside pytest: the adapter profile, the options, every
scenario result, and writing the reports at the end (also when the run is interrupted)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from conformance.options import RunOptions
from conformance.report_build import build_report, report_paths
from conformance.results import ScenarioResult
from live.profile import AdapterProfile, load_profile
from reports import ConformanceReport, write_html, write_junit, write_yaml


class ConformanceSession:
    """Collects results and writes the reports."""

    def __init__(self, options: RunOptions) -> None:
        self.options = options
        self.results: list[ScenarioResult] = []
        self.started = time.monotonic()
        self._profile: AdapterProfile | None = None
        self.report: ConformanceReport | None = None
        self.written: dict[str, Path] = {}

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
        f = self.profile.features
        return {str(x) for x in f.supported} - {str(x) for x in f.exempt}

    def log_dir(self) -> Path | None:
        if self.options.report_dir is None:
            return None
        path = self.options.report_dir / "logs"
        path.mkdir(parents=True, exist_ok=True)
        return path

    # pytest hooks (the session is registered as a plugin by conformance.plugin)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Gather results where reports arrive: the only process, or the xdist controller."""
        if report.when not in ("setup", "call"):
            return
        for name, value in report.user_properties:
            if name == "asmkit_result" and isinstance(value, dict):
                self.results.append(ScenarioResult.from_dict(value))

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if hasattr(session.config, "workerinput"):
            return  # an xdist worker: the controller writes the report
        self.finish(interrupted=exitstatus == pytest.ExitCode.INTERRUPTED)

    def finish(self, *, interrupted: bool) -> None:
        """Write the reports (if a report folder was given and anything ran)."""
        if self.options.report_dir is None or not self.results:
            return
        report = build_report(
            self.profile,
            self.results,
            self.options,
            duration_s=time.monotonic() - self.started,
            interrupted=interrupted,
        )
        paths = report_paths(self.options.report_dir)
        write_yaml(report, paths["yaml"])
        write_junit(report, paths["junit"])
        write_html(report, paths["html"])
        self.report = report
        self.written = paths


SESSION_KEY = pytest.StashKey[ConformanceSession]()
"""Where the plugin keeps the session on ``pytest.Config.stash``."""
