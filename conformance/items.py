"""Pytest collection of ``*.scenario.yaml`` files: one file, one test item. Failures print the
step, expected vs actual, and the step's ``file:line``; bad files are collection errors with
``file:line:column``, not tracebacks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from common.redaction import Redactor
from conformance.results import Outcome, ScenarioResult
from conformance.runner import run_scenario
from conformance.selection import not_run
from conformance.session import SESSION_KEY, ConformanceSession
from live.launch import AdapterError
from scenarios.loader import SUFFIX, ScenarioFile, lenient_summary, load_scenario
from scenarios.problems import ScenarioError

if TYPE_CHECKING:  # pytest's own types for repr_failure (not exported as public names)
    from _pytest._code.code import TerminalRepr, TracebackStyle


class ScenarioFailed(Exception):
    """A scenario ran and did not pass."""

    def __init__(self, result: ScenarioResult) -> None:
        super().__init__(result.name)
        self.result = result


class ScenarioYamlFile(pytest.File):
    """A scenario file; yields its one item, or an `InvalidScenarioItem` that reports why the
    file cannot be run (so the other files still run and the report lists this one)."""

    def collect(self) -> Iterator[pytest.Item]:
        try:
            source = load_scenario(self.path)
        except ScenarioError as exc:
            name = self.path.name.removesuffix(SUFFIX)
            yield InvalidScenarioItem.from_parent(self, name=name, problem=exc)
            return
        yield ScenarioItem.from_parent(self, name=source.scenario.name, source=source)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: TracebackStyle | None = None,
    ) -> str | TerminalRepr:
        if isinstance(excinfo.value, ScenarioError):
            return f"invalid scenario file:\n{excinfo.value}"
        return super().repr_failure(excinfo)


class InvalidScenarioItem(pytest.Item):
    """A scenario file that cannot be read or validated: an error at setup (as a collection
    error would be), recorded as an ``error`` case naming every problem."""

    def __init__(self, *, problem: ScenarioError, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.problem = problem
        redactor = Redactor(self.config.stash[SESSION_KEY].redaction_key)
        self.asm_result = ScenarioResult(
            name=self.name,
            path=str(self.path),
            description="",
            features=lenient_summary(self.path)[1],
            outcome=Outcome.ERROR,
            error=redactor.text(f"invalid scenario file:\n{problem}"),
        )

    def setup(self) -> None:
        raise self.problem

    def runtest(self) -> None:  # pragma: no cover - setup always raises
        raise self.problem

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: TracebackStyle | None = None,
    ) -> str | TerminalRepr:
        return f"invalid scenario file:\n{self.problem}"

    def reportinfo(self) -> tuple[Any, int, str]:
        return self.path, 0, f"invalid scenario file: {self.name}"


class ScenarioItem(pytest.Item):
    """Runs one scenario against a fresh stack."""

    def __init__(self, *, source: ScenarioFile, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.asm_result: ScenarioResult | None = None
        for feature in source.scenario.features:
            self.add_marker(pytest.mark.asm_feature(feature))

    @property
    def conformance(self) -> ConformanceSession:
        return self.config.stash[SESSION_KEY]

    def _skip(self, outcome: Outcome, reason: str) -> None:
        scenario = self.source.scenario
        self.asm_result = ScenarioResult(
            name=scenario.name,
            path=str(self.source.path),
            description=scenario.description,
            features=[f.value for f in scenario.features],
            outcome=outcome,
            seed=scenario.seed,
            reason=reason,
        )
        pytest.skip(f"{outcome.value}: {reason}")

    def runtest(self) -> None:
        session = self.conformance
        scenario = self.source.scenario
        options = session.options
        chosen = options.run_test == scenario.name
        if options.run_test and not chosen:
            self._skip(Outcome.SKIPPED, f"only {options.run_test} was asked for (--asm-run-test)")
        if scenario.name in options.skip_tests or scenario.name in session.profile.skip:
            self._skip(Outcome.SKIPPED, "explicitly skipped")
        reason = not_run(scenario, session.profile, chosen=chosen)
        if reason is not None:
            self._skip(*reason)
        for attempt in range(1, options.retries + 2):
            result = self._run_once()
            result.attempts = attempt
            if result.outcome not in (Outcome.FAILED, Outcome.ERROR):
                break
        self.asm_result = result
        if result.outcome in (Outcome.FAILED, Outcome.ERROR):
            raise ScenarioFailed(result)

    def _run_once(self) -> ScenarioResult:
        session, scenario = self.conformance, self.source.scenario
        try:
            return session.interrupts.run(  # SIGINT/SIGTERM cancel it; its stack is stopped
                run_scenario(
                    self.source,
                    session.profile,
                    log_dir=session.log_dir(),
                    data_plane=session.options.data_plane,
                    redaction_key=session.redaction_key,
                )
            )
        except AdapterError as exc:
            return ScenarioResult(
                name=scenario.name,
                path=str(self.source.path),
                description=scenario.description,
                features=[f.value for f in scenario.features],
                outcome=Outcome.FAILED,
                error=str(exc),
            )

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: TracebackStyle | None = None,
    ) -> str | TerminalRepr:
        if isinstance(excinfo.value, ScenarioFailed):
            result = excinfo.value.result
            verdict = "could not be judged (kit error)" if result.outcome == "error" else "failed"
            lines = [f"scenario {result.name} {verdict} ({result.path})"]
            if result.failure is not None:
                lines.append(result.failure.render())
            if result.error:
                lines.append(f"  {result.error}")
            if result.trace:
                lines.append("  trace:")
                lines.extend(
                    f"    {t.at:8.3f}s {t.kind:<13} {t.summary}" for t in result.trace[-15:]
                )
            return "\n".join(lines)
        if isinstance(excinfo.value, ScenarioError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Any, int, str]:
        return self.path, 0, f"scenario: {self.name}"
