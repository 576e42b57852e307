"""``asmkit conformance``: run the scenario library through pytest with only the kit's plugin
loaded, then print a one-screen summary with the report's path."""

from __future__ import annotations

import argparse
import os
import signal
import time
from pathlib import Path

import pytest
from rich.console import Console
from rich.table import Table

from conformance.options import from_cli
from conformance.session import SESSION_KEY
from reports import ConformanceReport
from scenarios import LIBRARY

_EMPTY_INI = Path(__file__).parent / "conformance.ini"


class _Capture:
    """A tiny pytest plugin that keeps the finished report for the summary."""

    def __init__(self, command: list[str]) -> None:
        self.command = command
        """The command line shown in the report; reproduce commands use ``asmkit`` too."""
        self.report: ConformanceReport | None = None
        self.paths: dict[str, Path] = {}

    @pytest.hookimpl(trylast=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        conformance = config.stash.get(SESSION_KEY, None)
        if conformance is not None:
            conformance.options.command = self.command
            conformance.options.launcher = "asmkit"

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        conformance = session.config.stash.get(SESSION_KEY, None)
        if conformance is not None:
            self.report = conformance.report
            self.paths = conformance.written


def pytest_args(args: argparse.Namespace) -> list[str]:
    """The pytest command line equivalent to ``args``."""
    targets = args.scenarios or [str(LIBRARY)]
    out = [
        "-c",
        str(_EMPTY_INI),
        "--rootdir",
        str(Path.cwd()),
        "-p",
        "conformance.plugin",
        "-p",
        "no:cacheprovider",
        *from_cli(args).flags("asm-"),
    ]
    out += ["-q", "-rfE"] if not args.verbose else ["-v", "-rfE"]
    if args.keyword:
        out += ["-k", args.keyword]
    if args.fail_fast:
        out.append("-x")
    if args.workers:
        out += ["-p", "xdist", "-n", str(args.workers)]
    return [*out, *targets]


def command_line(args: argparse.Namespace) -> list[str]:
    """The ``asmkit conformance`` command as given (shown in the report), how it ran included
    (workers, fail-fast, verbose)."""
    command = ["asmkit", "conformance", *from_cli(args).flags("")]
    if args.keyword:
        command += ["-k", args.keyword]
    if args.workers:
        command += ["-n", str(args.workers)]
    if args.fail_fast:
        command.append("-x")
    if args.verbose:
        command.append("-v")
    if args.scenarios:
        command += ["--scenarios", *args.scenarios]
    return command


def run_conformance(args: argparse.Namespace) -> int:
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    capture = _Capture(command_line(args))
    started = time.monotonic()
    code = pytest.main(pytest_args(args), plugins=[capture])
    elapsed = time.monotonic() - started
    console = Console(soft_wrap=True)
    if capture.report is None:
        console.print(f"[red]no report was written[/red] (pytest exit code {int(code)})")
        if code == pytest.ExitCode.INTERRUPTED:
            return 128 + signal.SIGINT
        return int(code) or 1
    print_summary(console, capture.report, capture.paths, elapsed)
    if capture.report.interrupted:  # the shell's convention: 128 + the signal's number
        by = capture.report.interrupted_by
        return 128 + (signal.Signals[by] if by in signal.Signals.__members__ else signal.SIGINT)
    errors = any(c.outcome == "error" for c in capture.report.cases)
    if capture.report.result == "failure" or errors or int(code) not in (0, 5):
        return 1
    return 0


def print_summary(
    console: Console, report: ConformanceReport, paths: dict[str, Path], elapsed: float
) -> None:
    counts: dict[str, int] = {}
    for case in report.cases:
        counts[case.outcome] = counts.get(case.outcome, 0) + 1
    colour = {"success": "green", "partial": "yellow", "failure": "red"}.get(report.result, "red")
    impl = report.implementation
    console.print()
    console.print(
        f"[bold]asmkit conformance[/bold]: {impl.project} {impl.version} via "
        f"{'real' if report.data_plane == 'envoy' else 'simulated'} Envoy"
        f" ({report.ext_authz_transport} ext_authz) — "
        f"[bold {colour}]{report.result.upper()}[/bold {colour}] in {elapsed:.1f}s"
    )
    table = Table(show_edge=False, pad_edge=False)
    for column in ("profile", "core", "extended", "passed", "failed", "errors", "not supported"):
        table.add_column(column)
    for p in report.profiles:
        stats = [p.core.statistics, p.extended.statistics]
        table.add_row(
            p.name,
            p.core.result,
            p.extended.result,
            str(sum(s.passed for s in stats)),
            str(sum(s.failed for s in stats)),
            str(sum(s.errors for s in stats)),
            str(sum(s.not_supported for s in stats)),
        )
    console.print(table)
    console.print("cases: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    if report.interrupted:
        console.print(
            f"[red]interrupted by {report.interrupted_by or 'a signal'}[/red]:"
            f" {len(report.not_run)} of {len(report.cases)} cases did not run"
        )
    slow = [(c.name, s) for c in report.cases for _, s in c.time_to_consistency]
    if slow:
        worst = max(slow, key=lambda item: item[1])
        console.print(f"time to consistency: worst {worst[1]:.2f}s ({worst[0]})")
    for case in report.cases:
        if case.outcome in ("failed", "error"):
            where = case.failure.location if case.failure else case.file
            why = case.failure.message if case.failure else (case.error or "")
            label = "FAILED" if case.outcome == "failed" else "KIT ERROR"
            console.print(f"  [red]{label}[/red] {case.name}  {where}\n         {why}")
    late = [c for c in report.cases if c.late_checks]
    if late:
        slowest = max(c.slowest_check_s for c in late)
        console.print(
            f"  [yellow]late answers[/yellow]: {sum(c.late_checks for c in late)} checks in"
            f" {len(late)} cases came after the {report.ext_authz_timeout_ms}ms ext_authz timeout"
            f" (slowest {1000 * slowest:.0f}ms); verdicts applied them, Envoy would not"
        )
    for name, reason in report.waivers.items():
        console.print(f"  [yellow]waived[/yellow] {name}: {reason}")
    for kind in ("yaml", "junit", "html"):
        if kind in paths:
            console.print(f"{kind:>5}: {paths[kind]}")
