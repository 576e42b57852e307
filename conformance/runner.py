"""Running one scenario against a live stack: each step in order, ``finally`` steps always,
a timestamped trace of the flow, and a ``ScenarioResult`` (no pytest here)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from common.adapter_settings import SyncName
from common.clock import MonotonicClock
from common.redaction import Redactor
from conformance.control_plane_steps import object_namespaces, seed_variables
from conformance.discovery_steps import run_adapter, run_api_instance
from conformance.identity_steps import (
    check_platform_token_kept,
    run_identity_provider,
    token_maker,
)
from conformance.platform_calls import run_platform_calls
from conformance.platform_evidence import check_faults_fired, record_control_plane
from conformance.proxy_steps import (
    NetworkFaultError,
    NetworkFaultUse,
    apply_network_fault,
    clear_network_faults,
    record_network,
    record_replay,
)
from conformance.redact import redact_logs, redact_result, secrets_of
from conformance.request_steps import run_eventually, run_request_step
from conformance.results import Outcome, ScenarioResult, StepFailed, StepFailure, TraceEntry
from conformance.state_dir_steps import run_state_dir
from conformance.variables import VariableError, Variables
from conformance.waits import check_analytics
from fake_anypoint import ActiveFault, ChangeError, ControlPlaneState
from live.profile import AdapterProfile
from live.stack import Stack, StackError, bring_up
from scenarios.identity import IdentityProviderStep
from scenarios.loader import ScenarioFile
from scenarios.steps import (
    AdapterStep,
    AnalyticsStep,
    ApiInstanceStep,
    ClearFaults,
    ControlPlaneStep,
    EventuallyStep,
    FaultStep,
    NetworkFaultSpec,
    PlatformCallsStep,
    RequestStep,
    StateDirStep,
    Step,
    WaitStep,
)


class ScenarioRun:
    """Executes the steps of one scenario on one stack and records what happened."""

    def __init__(
        self,
        source: ScenarioFile,
        stack: Stack,
        result: ScenarioResult,
        *,
        started: float,
        timeout_scale: float = 1.0,
        waived: frozenset[str] = frozenset(),
    ) -> None:
        self.waived = waived
        self.timeout_scale = timeout_scale
        self.source = source
        self.stack = stack
        self.result = result
        self.started = started
        self.variables = Variables(seed_variables(stack, source.scenario))
        if stack.identity_provider is not None:
            self.variables.tokens = token_maker(stack.identity_provider, self.variables)
        self.failed_at: float | None = None
        """The control plane's clock when the first step failed."""
        self.faults: list[ActiveFault] = list(stack.faults)
        """Every fault this run added, kept after a clear: each required one must fire."""
        self.network_faults: list[NetworkFaultUse] = []
        """Every network fault this run switched on, with its step: each must act."""
        self._step: tuple[int, str, bool] = (0, "", False)
        self.marks: dict[str, tuple[float, float]] = {}
        """When each named step started and ended, on the control plane's clock."""

    def deadline(
        self, within: float | None, sync: SyncName | None, slack: float, intervals: float = 1.0
    ) -> float:
        """A step's deadline: ``within``, or ``intervals`` of the ``sync`` loop plus ``slack``,
        times the profile's ``timeout_scale``."""
        if within is None:
            within = self.stack.settings.interval(sync or "analytics") * intervals + slack
        base = within
        return base * self.timeout_scale

    def note(self, kind: str, summary: str, **detail: Any) -> None:
        self.result.trace.append(
            TraceEntry(round(time.monotonic() - self.started, 4), kind, summary, detail)
        )

    async def run_steps(self, steps: list[Step], *, in_finally: bool = False) -> None:
        for index, step in enumerate(steps):
            name = step.name or _default_name(step)
            self._step = (index, name, in_finally)
            begun = self.stack.state.clock.now()
            try:
                await self.run_step(step, name)
                if step.name:
                    self.marks[step.name] = (begun, self.stack.state.clock.now())
            except (StepFailed, VariableError) as exc:
                message = exc.message if isinstance(exc, StepFailed) else str(exc)
                mismatches = exc.mismatches if isinstance(exc, StepFailed) else []
                self.note("failure", f"step '{name}' failed: {message}")
                if self.result.failure is None:
                    self.failed_at = self.stack.state.clock.now()
                    self.result.failure = StepFailure(
                        index,
                        name,
                        self.source.step_location(index, in_finally=in_finally),
                        message,
                        tuple(mismatches),
                    )
                if not in_finally:
                    return

    async def run_step(self, step: Step, name: str) -> None:
        if isinstance(step, RequestStep):
            await run_request_step(self, step, name)
        elif isinstance(step, ControlPlaneStep):
            self.run_control_plane(step)
        elif isinstance(step, WaitStep):
            await self.run_wait(step)
        elif isinstance(step, EventuallyStep):
            await run_eventually(self, step, name)
        elif isinstance(step, FaultStep):
            await self.run_fault(step)
        elif isinstance(step, ApiInstanceStep):
            await run_api_instance(self, step)
        elif isinstance(step, AdapterStep):
            await run_adapter(self, step)
        elif isinstance(step, StateDirStep):
            await run_state_dir(self, step)
        elif isinstance(step, IdentityProviderStep):
            run_identity_provider(self, step)
        elif isinstance(step, PlatformCallsStep):
            await run_platform_calls(self, step)
        else:
            await self.run_analytics(step)

    async def run_fault(self, step: FaultStep) -> None:
        state, fault = self.stack.state, step.fault
        if isinstance(fault, ClearFaults):
            now = state.clock.now()
            for active in self.faults:  # a cleared fault's window ends now
                if active.end is None or active.end > now:
                    active.end = now
            state.clear_faults()
            await clear_network_faults(self.stack)
            self.note("fault", "all faults cleared")
        elif isinstance(fault, NetworkFaultSpec):
            try:
                summary = await apply_network_fault(self.stack, fault.network)
            except NetworkFaultError as exc:
                raise StepFailed(str(exc)) from None
            index, name, in_finally = self._step
            location = self.source.step_location(index, in_finally=in_finally)
            self.network_faults.append(NetworkFaultUse(fault.network, index, name, location))
            self.note("fault", summary)
        else:
            self.faults.append(state.add_fault(fault))
            self.note("fault", fault.describe())

    def run_control_plane(self, step: ControlPlaneStep) -> None:
        change = self.variables.substitute_model(step.control_plane.change)
        try:
            summary = change.apply(self.stack.state, self.stack.seed)
        except ChangeError as exc:
            raise StepFailed(f"the control-plane change names nothing: {exc}") from None
        self.variables.values.update(object_namespaces(self.stack))
        self.note("control_plane", summary, change=change.model_dump(mode="json"))

    async def run_wait(self, step: WaitStep) -> None:
        wait = step.wait
        if wait.duration is not None:
            seconds = wait.duration
        else:
            seconds = self.stack.settings.interval(wait.sync or "policies") * wait.intervals
        self.note("wait", f"wait {seconds:g}s" + (f" ({wait.sync} sync)" if wait.sync else ""))
        await asyncio.sleep(seconds)

    async def run_analytics(self, step: AnalyticsStep) -> None:
        spec = step.analytics
        deadline = self.deadline(spec.within, spec.within_sync, spec.slack)
        where = [self.variables.substitute(e.where) for e in spec.events]
        urls = [a.metrics_url for a in self.stack.adapters if a.metrics_url]
        mismatches, summary = await check_analytics(
            self.stack.state, spec, where, deadline, self.waived, urls
        )
        self.result.analytics = summary
        events, batches = summary["events"], summary["batches"]
        self.note("analytics", f"{events} events in {batches} batches", **summary)
        if mismatches:
            first = mismatches[0]
            detail = first.first_difference()
            raise StepFailed(
                f"analytics did not arrive as expected within {deadline:g}s: {first.field}:"
                f" expected {first.expected}, got {first.actual}"
                + (f"; {detail}" if detail else ""),
                mismatches,
            )


async def run_scenario(
    source: ScenarioFile,
    profile: AdapterProfile,
    *,
    log_dir: Path | None = None,
    data_plane: str = "simulated",
    redaction_key: bytes | None = None,
) -> ScenarioResult:
    """Run ``source`` against a fresh stack for ``profile``; never raises for scenario failures.
    The result and the adapters' logs come back with every credential redacted (one
    ``redaction_key`` per run keeps placeholders comparable across its cases)."""
    state = ControlPlaneState(clock=MonotonicClock(), seed=source.scenario.seed)
    logs: list[Path | None] = []
    result = await _run_scenario(source, profile, state, logs, log_dir, data_plane)
    directory = source.scenario.directory
    secrets = secrets_of(state) + (directory.secrets() if directory is not None else [])
    redactor = Redactor(redaction_key, secrets)
    redact_result(result, redactor)
    redact_logs(logs, redactor)
    return result


async def _run_scenario(
    source: ScenarioFile,
    profile: AdapterProfile,
    state: ControlPlaneState,
    logs: list[Path | None],
    log_dir: Path | None,
    data_plane: str,
) -> ScenarioResult:
    scenario = source.scenario
    result = ScenarioResult(
        name=scenario.name,
        path=str(source.path),
        description=scenario.description,
        features=[f.value for f in scenario.features],
        seed=scenario.seed,
    )
    started = time.monotonic()
    try:
        stack = await bring_up(
            scenario,
            profile,
            log_dir=log_dir,
            wait_ready=scenario.adapter.wait_ready,
            data_plane=data_plane,
            state=state,
        )
    except Exception as exc:  # the adapter under test may fail in any way: report it
        logs.extend(_adapter_logs(log_dir, scenario.name))
        result.outcome = Outcome.FAILED
        result.error = f"the stack did not come up: {exc}"
        result.duration_s = round(time.monotonic() - started, 3)
        if not isinstance(exc, StackError | OSError):
            result.error += f" ({type(exc).__name__})"
        return result
    run = ScenarioRun(
        source,
        stack,
        result,
        started=started,
        timeout_scale=profile.timeout_scale,
        waived=frozenset(profile.waive),
    )
    await _run_steps(run, logs, log_dir)
    if result.error is not None and result.error.startswith("kit error"):
        result.outcome = Outcome.ERROR  # the case's premise never held: no verdict on it
    elif result.failure is not None:
        result.outcome = Outcome.FAILED
    result.duration_s = round(time.monotonic() - started, 3)
    return result


async def _run_steps(run: ScenarioRun, logs: list[Path | None], log_dir: Path | None) -> None:
    """The steps, then the ``finally`` steps, then the stack down and what it recorded."""
    scenario, stack, result, started = run.source.scenario, run.stack, run.result, run.started
    s = stack.settings
    run.note(
        "stack",
        f"stack up, adapter synced (policies every {s.policies_interval:g}s, contracts"
        f" {s.contracts_interval:g}s, analytics {s.analytics_interval:g}s, gatekeeper"
        f" {s.gatekeeper})",
    )
    try:
        await run.run_steps(list(scenario.steps))
        await run.run_steps(list(scenario.finally_steps), in_finally=True)
        check_faults_fired(result, run.faults, run.failed_at)
        check_platform_token_kept(run, result)
    finally:
        running = stack.adapters
        await stack.down()  # the adapter's final analytics flush lands before the journal is read
        logs.extend(_adapter_logs(log_dir, scenario.name))
        for i, adapter in enumerate(running):
            if adapter.exit_code:  # e.g. 3: the reference adapter lost analytics events
                run.note("stack", f"adapter {i + 1} exited with status {adapter.exit_code}")
        record_control_plane(result, stack, started)
        record_network(result, stack, started, run.network_faults)
        record_replay(result, stack, started)


def _adapter_logs(log_dir: Path | None, name: str) -> list[Path | None]:
    """Every log this scenario's adapters wrote (replicas and restarts included)."""
    if log_dir is None:
        return []
    return [p for p in log_dir.glob(f"{name}.*") if p.name.endswith(".adapter.log")]


def _default_name(step: Step) -> str:
    if isinstance(step, RequestStep):
        return f"{step.request.method} {step.request.path}"
    if isinstance(step, ControlPlaneStep):
        return step.control_plane.kind.replace("_", " ")
    if isinstance(step, WaitStep):
        return "wait"
    if isinstance(step, EventuallyStep):
        return "eventually"
    if isinstance(step, FaultStep):
        return "fault"
    if isinstance(step, ApiInstanceStep):
        return f"api instance {step.api_instance.api}"
    if isinstance(step, AdapterStep):
        return f"adapters {step.adapters}"
    if isinstance(step, StateDirStep):
        return f"state dir {step.state_dir}"
    if isinstance(step, IdentityProviderStep):
        return step.identity_provider.describe()
    if isinstance(step, PlatformCallsStep):
        return step.platform_calls.counted()
    return "analytics"
