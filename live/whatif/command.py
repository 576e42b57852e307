"""``asmkit whatif SPEC --live``: the live run with a progress display (rate, errors, p99, the
current chaos event), the live-versus-virtual table, and the report. Bounded: a run planned
longer than ``--max-wall`` is refused unless ``--allow-long``."""

from __future__ import annotations

import argparse
import asyncio
import math
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from live.profile import BUNDLED_PROFILE, load_profile
from live.whatif.capacity import capacity_from_metrics
from live.whatif.driver import LiveProgress
from live.whatif.engine import Load
from live.whatif.report import live_report_data
from live.whatif.runner import STARTUP_S, LiveWhatIf, planned_wall_s, run_live
from scenarios.problems import ScenarioError
from simulator.whatif.commands import DEFAULT_DIR, cell, write_outputs
from simulator.whatif.loader import WhatIfFile, load_whatif
from simulator.whatif.result import RunResult

ReportWriter = Callable[..., list[Path]]


def _check(args: argparse.Namespace, file: WhatIfFile) -> str | None:
    """A problem with the arguments (a message), or None."""
    for name in ("time_scale", "rate_scale"):
        value = getattr(args, name)
        if not (value > 0 and math.isfinite(value)):
            return f"--{name.replace('_', '-')} {value}: expected a number > 0"
    if args.replications is not None and args.replications < 1:
        return f"--replications {args.replications}: expected at least 1"
    if args.precision is not None and not 0 < args.precision < 1:
        return f"--precision {args.precision}: expected a fraction, e.g. 0.05"
    reps = args.replications or file.spec.replications
    planned = planned_wall_s(file, reps, args.time_scale)
    if planned > args.max_wall and not args.allow_long:
        return (
            f"this live run needs at least {planned:.0f} s of wall time "
            f"({len(file.points())} point(s) x {reps} replication(s) x "
            f"{file.spec.duration * args.time_scale:g} s): over --max-wall {args.max_wall:g} s. "
            "Scale it down (--time-scale 0.1, --replications 1) or pass --allow-long"
        )
    return None


def _display(progress: LiveProgress, label: str, duration: float) -> Table:
    table = Table.grid(padding=(0, 2))
    rate = progress.sent / progress.elapsed if progress.elapsed > 0 else 0.0
    p99 = progress.recent.percentile(99)
    progress.recent = type(progress.recent)()
    table.add_row(
        f"[bold]{label}[/] {min(progress.elapsed, duration):5.1f}/{duration:g} s",
        f"{rate:8,.0f} req/s",
        f"errors {progress.errors:,}",
        f"p99 {p99 * 1000:7.1f} ms" if p99 is not None else "p99       -",
        f"chaos: {progress.event or '-'}",
    )
    return table


async def _run(args: argparse.Namespace, file: WhatIfFile, console: Console) -> LiveWhatIf:
    adapter = Path(args.adapter) if args.adapter else BUNDLED_PROFILE
    profile = load_profile(adapter)
    reps = args.replications or file.spec.replications
    per_run = file.spec.duration * args.time_scale + STARTUP_S
    cap = args.max_replications
    if not args.allow_long:
        cap = max(reps, min(cap, int(args.max_wall // (per_run * len(file.points())))))
    state: dict[str, Any] = {}

    def on_progress(progress: LiveProgress, label: str, replication: int) -> None:
        state.update(progress=progress, label=f"{label} #{replication + 1}")

    with Live(console=console, transient=True, refresh_per_second=4) as live:

        async def refresh() -> None:
            while True:
                if "progress" in state:
                    duration = file.spec.duration * args.time_scale
                    live.update(_display(state["progress"], state["label"], duration))
                await asyncio.sleep(0.5)

        ticker = asyncio.ensure_future(refresh())
        try:
            return await run_live(
                file,
                profile,
                adapter_name=profile.implementation.project,
                replications=reps,
                seed=args.seed,
                time_scale=args.time_scale,
                rate_scale=args.rate_scale,
                data_plane=args.data_plane,
                precision=args.precision,
                max_replications=cap,
                log_dir=Path(args.log_dir) if args.log_dir else None,
                on_progress=on_progress,
                lag_slack=args.lag_slack,
                make_load=_load_factory(args),
            )
        finally:
            ticker.cancel()


def _load_factory(args: argparse.Namespace) -> Callable[[], Load] | None:
    """Locust processes when asked (``--workers N`` local, ``--master`` for remote ones)."""
    if not args.workers and not args.master:
        return None
    from live.whatif.locust_load import LocustLoad, LocustOptions

    options = LocustOptions(
        workers=args.workers or 0,
        expect_workers=args.expect_workers if args.master else 0,
        bind=args.master_bind,
        port=args.master_port,
        web_ui=args.web_ui,
        web_port=args.web_port,
        log_dir=Path(args.log_dir) if args.log_dir else None,
    )
    return lambda: LocustLoad(options)


def run_worker(args: argparse.Namespace, err: Console) -> int:
    """``--worker``: be a Locust worker of the master at ``--master-host`` until it ends."""
    import subprocess
    import sys

    from live.whatif.locust_load import LOCUSTFILE, locust_available

    if not locust_available():
        err.print("Locust is not installed: pip install 'asmkit[load]'", markup=False)
        return 2
    argv = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker"]
    argv += [f"--master-host={args.master_host}", f"--master-port={args.master_port}"]
    return subprocess.call(argv)


LIVE_ONLY = (
    "wrong_beyond_lag",
    "intended_rate",
    "achieved_rate",
    "send_late_p99_ms",
    "adapter_p99_ms",
    "generator_bound",
)


def _generator_sentences(runs: list[RunResult]) -> set[str]:
    """What to say about the generator, once per distinct case over the replications."""
    out: set[str] = set()
    for number, result in enumerate(runs, 1):
        cap = capacity_from_metrics(result.metrics)
        sentence = cap.sentence() if cap is not None else None
        if sentence is not None:
            where = f"replication {number}: " if len(runs) > 1 else ""
            out.add(where + sentence)
    return out


def _print(run: LiveWhatIf, console: Console) -> None:
    spec = run.file.spec
    for point in run.points:
        table = Table(
            title=f"{spec.name} live ({run.adapter}, {run.data_plane} data plane): {point.label}",
            title_justify="left",
        )
        for column in ("metric", "live", "virtual", "difference", "within"):
            table.add_column(column, justify="left" if column == "metric" else "right")
        virtual = point.virtual
        for row in point.comparison:
            name = row["metric"]
            within = {True: "yes", False: "NO", None: "-"}[row["within_interval"]]
            diff = row["difference"]
            table.add_row(
                name,
                cell(point.live.get(name)),
                cell(virtual.get(name)),
                "-" if diff is None else f"{diff:+,.4g}",
                within,
            )
        for name in LIVE_ONLY:
            table.add_row(name, cell(point.live.get(name)), "", "", "")
        console.print(table)
        for sentence in sorted(_generator_sentences(point.runs)):
            console.print(sentence, highlight=False)
    console.print(
        f"{run.requests:,} live requests in {run.wall_s:.1f} s wall; times x{run.time_scale:g}, "
        f"rates x{run.rate_scale:g}",
        highlight=False,
    )


def run_live_command(args: argparse.Namespace, write_report: ReportWriter) -> int:
    console = Console(soft_wrap=True)
    err = Console(stderr=True, soft_wrap=True)
    if args.worker:
        return run_worker(args, err)
    try:
        file = load_whatif(Path(args.spec))
        if args.adapter:
            load_profile(Path(args.adapter))
    except ScenarioError as exc:
        err.print(str(exc), markup=False, highlight=False)
        return 2
    problem = _check(args, file)
    if problem is not None:
        err.print(problem, markup=False, highlight=False)
        return 2
    try:
        run = asyncio.run(_run(args, file, err))
    except Exception as exc:  # the adapter under test may fail in any way: say so
        err.print(f"the live run failed: {exc}", markup=False, highlight=False)
        return 1
    _print(run, console)
    for warning in sorted({w for p in run.points for r in p.runs for w in r.warnings}):
        err.print(f"warning: {warning}", markup=False, highlight=False)
    return _write(args, run, write_report, console, err)


def reproduce(args: argparse.Namespace, run: LiveWhatIf) -> str:
    argv = [str(run.file.path), "--live", "--seed", str(run.seed)]
    argv += ["--replications", str(max(len(p.runs) for p in run.points))]
    if args.adapter:
        argv += ["--adapter", str(args.adapter)]
    argv += ["--data-plane", run.data_plane]
    argv += ["--time-scale", f"{run.time_scale:g}", "--rate-scale", f"{run.rate_scale:g}"]
    return "asmkit whatif " + shlex.join(argv)


def _write(
    args: argparse.Namespace,
    run: LiveWhatIf,
    write_report: ReportWriter,
    console: Console,
    err: Console,
) -> int:
    out_dir = (
        Path(args.report_dir) if args.report_dir else DEFAULT_DIR / f"{run.file.spec.name}-live"
    )
    data = live_report_data(run, reproduce(args, run))
    return write_outputs(data, out_dir, args, write_report, console, err)
