"""``asmkit whatif SPEC.yaml``: run a what-if with a progress bar, print the summary table and
write the report (data + HTML with plots) to the reports folder."""

from __future__ import annotations

import argparse
import functools
import importlib
import shlex
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

DEFAULT_DIR = Path("build/reports/whatif")
ReportWriter = Callable[..., list[Path]]
"""``writer(data, out_dir, fmt=..., plots=...) -> [paths]``, e.g.
`reports.whatif.write_whatif_report`."""
DEFAULT_WRITER = "reports.whatif:write_whatif_report"


def default_writer() -> ReportWriter:
    """The renderer, looked up by name: the simulator room does not import reports (the layering
    rule); the CLI may pass ``reports.whatif.write_whatif_report`` to `add_whatif_parser`."""
    module, _, name = DEFAULT_WRITER.partition(":")
    writer: ReportWriter = getattr(importlib.import_module(module), name)
    return writer


LiveRunner = Callable[[argparse.Namespace, ReportWriter | None], int]
"""Runs ``--live`` (``live.whatif.command.run_live_command``; the simulator room does not
import the live room, the CLI passes it)."""


def add_whatif_parser(
    subparsers: Any,
    write_report: ReportWriter | None = None,
    live_runner: LiveRunner | None = None,
) -> argparse.ArgumentParser:
    """Register ``whatif`` on the ``asmkit`` subparsers (argparse). ``write_report`` renders the
    report (default: `reports.whatif.write_whatif_report`, looked up when the command runs);
    ``live_runner`` runs ``--live``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "whatif",
        help="answer a load or chaos question in virtual time, or live against an adapter",
        description="Run a what-if spec (*.whatif.yaml) in virtual time with the reference "
        "adapter's own decision core, sync loops and analytics batcher, or with --live in "
        "wall time against the adapter a profile starts (the virtual prediction beside it); "
        "print a summary and write whatif.yaml and report.html.",
    )
    parser.add_argument("spec", metavar="SPEC.yaml", help="the what-if spec")
    parser.add_argument(
        "--report-dir",
        metavar="DIR",
        help=f"where the report goes (default: {DEFAULT_DIR}/<spec name>)",
    )
    parser.add_argument("--replications", type=int, metavar="N", help="override replications")
    parser.add_argument("--seed", type=int, metavar="S", help="override the spec's seed")
    parser.add_argument(
        "--fast",
        action="store_true",
        help="memoise decisions of stateless policy chains (same results, faster)",
    )
    parser.add_argument("--format", choices=("yaml", "json"), default="yaml", help="data file")
    parser.add_argument("--no-plots", action="store_true", help="skip matplotlib plots")
    parser.add_argument(
        "--precision",
        type=float,
        metavar="REL",
        help="replicate until every headline metric's 95%% half-width is at most REL times its "
        "mean (or half a request), e.g. 0.05",
    )
    parser.add_argument(
        "--max-replications",
        type=int,
        default=100,
        metavar="N",
        help="the cap of --precision (default 100)",
    )
    add_live_arguments(parser)
    parser.set_defaults(
        func=functools.partial(
            run_whatif_command, write_report=write_report, live_runner=live_runner
        )
    )
    return parser


def add_live_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``--live`` (docs/whatif.md, Live runs)."""
    live = parser.add_argument_group("live runs")
    live.add_argument("--live", action="store_true", help="run in wall time against an adapter")
    live.add_argument("--adapter", metavar="PROFILE.yaml", help="default: the reference adapter")
    live.add_argument(
        "--data-plane",
        choices=("simulated", "simulated-h2", "envoy"),
        default="simulated",
        help="simulated Envoy (simulated-h2: gRPC checks on the kit's own HTTP/2 client) or "
        "a real Envoy",
    )
    live.add_argument(
        "--time-scale", type=float, default=1.0, metavar="X", help="multiply every time by X"
    )
    live.add_argument(
        "--rate-scale", type=float, default=1.0, metavar="X", help="multiply every rate by X"
    )
    live.add_argument(
        "--max-wall",
        type=float,
        default=600.0,
        metavar="S",
        help="refuse a live run planned longer than S seconds (default 600)",
    )
    live.add_argument("--allow-long", action="store_true", help="lift --max-wall")
    live.add_argument(
        "--lag-slack",
        type=float,
        default=1.0,
        metavar="S",
        help="seconds beyond one sync interval a change may take to be enforced (default 1)",
    )
    live.add_argument("--log-dir", metavar="DIR", help="where adapter logs go")
    load = parser.add_argument_group("load from Locust processes (the load extra)")
    load.add_argument(
        "--workers", type=int, metavar="N", help="drive the load from N local Locust workers"
    )
    load.add_argument(
        "--master", action="store_true", help="wait for --expect-workers remote workers"
    )
    load.add_argument("--expect-workers", type=int, default=1, metavar="N")
    load.add_argument("--master-bind", default="127.0.0.1", metavar="HOST")
    load.add_argument("--master-port", type=int, default=5557, metavar="PORT")
    load.add_argument("--worker", action="store_true", help="be a Locust worker of --master-host")
    load.add_argument("--master-host", default="127.0.0.1", metavar="HOST")
    load.add_argument("--web-ui", action="store_true", help="serve Locust's web UI (on --web-port)")
    load.add_argument("--web-port", type=int, default=8089, metavar="PORT")


def _num(value: float) -> str:
    return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"


def cell(est: Any) -> str:
    """``mean`` and its 95% interval: ``± h`` when symmetric, ``[low, high]`` when cut at the
    metric's range."""
    if est is None or est.mean is None:
        return "-"
    text = _num(est.mean)
    half = est.half_width
    if half is None or half <= 0:
        return text
    if abs((est.mean - est.ci_low) - (est.ci_high - est.mean)) <= 1e-9 * max(1.0, abs(est.mean)):
        return f"{text} ± {half:.2g}"
    return f"{text} [{_num(est.ci_low)}, {_num(est.ci_high)}]"


def run_whatif_command(
    args: argparse.Namespace,
    write_report: ReportWriter | None = None,
    live_runner: LiveRunner | None = None,
) -> int:
    """The command; returns the exit code (2 for a bad spec or arguments). Long because it runs the
    command's phases in order: load, check, run with progress, summarise, write."""
    if getattr(args, "live", False) or getattr(args, "worker", False):
        if live_runner is None:
            print("--live runs through the asmkit command (asmkit whatif --live)", file=sys.stderr)
            return 2
        return live_runner(args, write_report)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from scenarios.problems import ScenarioError
    from simulator.whatif.loader import load_whatif
    from simulator.whatif.report_data import report_data
    from simulator.whatif.runner import run_whatif

    console = Console(soft_wrap=True)
    err = Console(stderr=True, soft_wrap=True)
    try:
        file = load_whatif(Path(args.spec))
    except ScenarioError as exc:
        err.print(str(exc), markup=False, highlight=False)
        return 2
    problem = _bad_arguments(args)
    if problem:
        err.print(problem, markup=False)
        return 2
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(file.spec.name, total=None)

        def progress(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label)

        run = run_whatif(
            file,
            replications=args.replications,
            seed=args.seed,
            fast=args.fast,
            progress=progress,
            precision=args.precision,
            max_replications=args.max_replications,
        )
    console.print(_summary_table(file.spec, run))
    warnings = sorted({w for p in run.points for r in p.runs for w in r.warnings})
    for warning in warnings:
        err.print(f"warning: {warning}", markup=False, highlight=False)
    console.print(
        f"{run.simulated_requests:,} simulated requests, {run.replications} replications, "
        f"{run.wall_s:.1f} s wall ({run.simulated_requests / max(run.wall_s, 1e-9):,.0f} req/s)",
        highlight=False,
    )
    out_dir = Path(args.report_dir) if args.report_dir else DEFAULT_DIR / file.spec.name
    command = "asmkit whatif " + shlex.join(
        [str(file.path), "--seed", str(run.seed), "--replications", str(run.replications)]
        + (["--fast"] if run.fast else [])
    )
    writer = write_report or default_writer()
    return write_outputs(report_data(run, command), out_dir, args, writer, console, err)


def _bad_arguments(args: argparse.Namespace) -> str | None:
    if args.replications is not None and args.replications < 1:
        return f"--replications {args.replications}: expected at least 1"
    if args.seed is not None and args.seed < 0:
        return f"--seed {args.seed}: expected an integer >= 0"
    if args.precision is not None and not 0 < args.precision < 1:
        return f"--precision {args.precision}: expected a fraction, e.g. 0.05"
    return None


def _summary_table(spec: Any, run: Any) -> Any:
    """The headline metrics, one column per sweep point."""
    from rich.table import Table

    from simulator.whatif.result import HEADLINE_METRICS

    table = Table(title=f"{spec.name}: {spec.question.strip()}", title_justify="left")
    table.add_column(spec.sweep.setting if spec.sweep else "metric")
    for point in run.points:
        table.add_column(point.label, justify="right")
    for name in HEADLINE_METRICS:
        table.add_row(name, *(cell(p.metrics.get(name)) for p in run.points))
    return table


def write_outputs(
    data: Mapping[str, Any],
    out_dir: Path,
    args: argparse.Namespace,
    writer: ReportWriter,
    console: Console,
    err: Console,
) -> int:
    """Write a what-if report (without plots when matplotlib is missing) and say where."""
    try:
        paths = writer(data, out_dir, fmt=args.format, plots=not args.no_plots)
    except ImportError as exc:
        err.print(f"cannot plot ({exc}): install the report extra or pass --no-plots", markup=False)
        paths = writer(data, out_dir, fmt=args.format, plots=False)
    except OSError as exc:
        err.print(f"cannot write the report to {out_dir}: {exc.strerror}", markup=False)
        return 1
    for path in paths:
        console.print(f"wrote {path}", highlight=False, soft_wrap=True)
    return 0


def main(argv: list[str] | None = None, write_report: ReportWriter | None = None) -> int:
    """Run the command alone (``python -m simulator.whatif.commands SPEC``)."""
    parser = argparse.ArgumentParser(prog="asmkit")
    add_whatif_parser(parser.add_subparsers(), write_report)
    args = parser.parse_args(["whatif", *(argv if argv is not None else sys.argv[1:])])
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
