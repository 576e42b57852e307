"""The ``asmkit`` command line: the front door to every room. Subcommands import their room only
when run, so ``asmkit --help`` stays fast."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from asmkit import __version__
from conformance.options import add_cli_options

DEFAULT_REPORT_DIR = Path("build/reports")


def _conformance(args: argparse.Namespace) -> int:
    from asmkit.conformance_command import run_conformance

    return run_conformance(args)


def _validate(args: argparse.Namespace) -> int:
    from asmkit.validate_command import run_validate

    return run_validate([Path(p) for p in args.paths], adapter=args.adapter)


def _run(args: argparse.Namespace) -> int:
    from asmkit.run_command import run_one

    return run_one(Path(args.file), adapter=args.adapter)


def _bench(args: argparse.Namespace) -> int:
    from benchmarks import BENCHMARKS, run_benchmarks

    if args.list:
        for name, target in BENCHMARKS.items():
            print(f"{name:<18} {target}")
        return 0
    return run_benchmarks(args.name, duration_s=args.duration, requests=args.requests)


def _schema(args: argparse.Namespace) -> int:
    from asmkit.schemas import write_schemas

    for path in write_schemas():
        print(f"wrote {path}")
    return 0


SERVE_COMPONENTS = {
    "control-plane": ("fake_anypoint.commands", "the fake Anypoint control plane"),
    "adapter": ("reference_adapter.commands", "the reference adapter"),
}
"""Component name -> (module with ``add_serve_parser(subparsers)``, help). Imported only when
served, so ``asmkit --help`` does not load the servers."""


def _serve(args: argparse.Namespace) -> int:
    print("asmkit serve: choose what to serve: control-plane or adapter", file=sys.stderr)
    return 2


def whatif_command(argv: Sequence[str]) -> int:
    """Run ``asmkit whatif ARGV`` with the what-if engine's own parser (loaded only now)."""
    from reports.whatif import write_whatif_report
    from simulator.whatif.commands import add_whatif_parser

    def live_runner(args: argparse.Namespace, write_report: object) -> int:
        from live.whatif.command import run_live_command

        return run_live_command(args, write_whatif_report)

    parser = argparse.ArgumentParser(prog="asmkit")
    add_whatif_parser(
        parser.add_subparsers(), write_report=write_whatif_report, live_runner=live_runner
    )
    args = parser.parse_args(["whatif", *argv])
    result: int = args.func(args)
    return result


def proxy_command(argv: Sequence[str]) -> int:
    """Run ``asmkit proxy ARGV`` with the proxy's own parser (loaded only now)."""
    from asmkit.proxy_command import add_proxy_parser

    parser = argparse.ArgumentParser(prog="asmkit")
    add_proxy_parser(parser.add_subparsers())
    args = parser.parse_args(["proxy", *argv])
    result: int = args.func(args)
    return result


def serve_component(component: str, argv: Sequence[str]) -> int:
    """Run ``asmkit serve COMPONENT ARGV``: the component's own parser reads the arguments."""
    module = importlib.import_module(SERVE_COMPONENTS[component][0])
    parser = argparse.ArgumentParser(prog="asmkit serve")
    module.add_serve_parser(parser.add_subparsers(title="components", metavar="COMPONENT"))
    real = parser.parse_args([component, *argv])
    handler = getattr(real, "serve_handler", None) or real.func
    result: int = handler(real)
    return result


def build_parser() -> argparse.ArgumentParser:
    """The ``asmkit`` parser; ``serve``, ``whatif`` and ``proxy`` parse their own arguments."""
    parser = argparse.ArgumentParser(
        prog="asmkit",
        description="A local simulator and conformance kit for Anypoint Service Mesh adapters.",
    )
    parser.add_argument("--version", action="version", version=f"asmkit {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_conformance(commands)
    _add_validate_and_run(commands)
    serve = commands.add_parser("serve", help="run a component until Ctrl-C")
    serve_commands = serve.add_subparsers(title="components", metavar="COMPONENT")
    for component, (_, text) in SERVE_COMPONENTS.items():
        serve_commands.add_parser(component, help=f"{text} (see asmkit serve {component} --help)")
    serve.set_defaults(func=_serve)
    commands.add_parser(
        "whatif", help="answer a load or chaos question in virtual time (asmkit whatif --help)"
    )
    commands.add_parser(
        "proxy",
        help="mitmproxy between an unmodified adapter and the platform: redirect, record, "
        "break (asmkit proxy --help)",
    )
    _add_bench_and_schema(commands)
    return parser


def _add_conformance(commands: Any) -> None:
    conformance = commands.add_parser(
        "conformance",
        help="run the scenario library against an adapter and write a report",
        description="Run the conformance scenarios against an adapter (by default the bundled "
        "reference adapter) and write conformance-report.yaml, junit.xml and report.html.",
    )
    add_cli_options(conformance, DEFAULT_REPORT_DIR)
    conformance.add_argument(
        "-k",
        metavar="EXPR",
        dest="keyword",
        help="only scenarios whose name matches this pytest -k expression",
    )
    conformance.add_argument(
        "--scenarios",
        metavar="PATH",
        nargs="+",
        help="scenario files or folders (default: the bundled library)",
    )
    conformance.add_argument(
        "-x", "--fail-fast", action="store_true", help="stop at the first failing scenario"
    )
    conformance.add_argument(
        "-n", "--workers", metavar="N", help="run scenarios in N processes (pytest-xdist)"
    )
    conformance.add_argument("-v", "--verbose", action="store_true", help="one line per scenario")
    conformance.set_defaults(func=_conformance)


def _add_validate_and_run(commands: Any) -> None:
    validate = commands.add_parser(
        "validate",
        help="check scenario files and adapter profiles without running them",
    )
    validate.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    validate.add_argument(
        "--adapter",
        metavar="PROFILE.yaml",
        help="also check that scenario features are ones this profile knows",
    )
    validate.set_defaults(func=_validate)
    run = commands.add_parser("run", help="run one scenario and print a trace of the flow")
    run.add_argument("file", metavar="FILE.scenario.yaml")
    run.add_argument("--adapter", metavar="PROFILE.yaml")
    run.set_defaults(func=_run)


def _add_bench_and_schema(commands: Any) -> None:
    bench = commands.add_parser(
        "bench",
        help="run benchmarks; one JSON object per line with figures, baseline and ratio",
    )
    bench.add_argument("name", nargs="?", help="one benchmark (default: all); see --list")
    bench.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    bench.add_argument("--duration", type=float, default=3.0, help="seconds per measurement")
    bench.add_argument("--requests", type=int, default=20_000, help="request cap per measurement")
    bench.set_defaults(func=_bench)
    schema = commands.add_parser(
        "schema",
        help="rewrite the published JSON Schemas (scenario, what-if spec, adapter profile,"
        " control-plane seed, fault)",
    )
    schema.set_defaults(func=_schema)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if len(argv) >= 2 and argv[0] == "serve" and argv[1] in SERVE_COMPONENTS:
            return serve_component(argv[1], argv[2:])
        if argv and argv[0] == "whatif":
            return whatif_command(argv[1:])
        if argv and argv[0] == "proxy":
            return proxy_command(argv[1:])
    except KeyboardInterrupt:
        return 130
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        code: int = func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
