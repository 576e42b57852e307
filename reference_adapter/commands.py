"""The ``asmkit serve adapter`` command: flags for every `ReferenceAdapterConfig` field, or a
``--profile PROFILE.yaml`` whose ``settings:`` mapping uses the same names (flags win). Runs the
adapter until SIGTERM/SIGINT and flushes analytics on the way out."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from common.yaml_source import YamlSyntaxError, load_yaml
from reference_adapter.adapter import ReferenceAdapter
from reference_adapter.settings import ReferenceAdapterConfig

log = logging.getLogger("reference_adapter")

_NONE_WORDS = ("none", "off", "null", "")


_NULLABLE = {
    name
    for name, field in ReferenceAdapterConfig.model_fields.items()
    if (not field.is_required() and field.default is None)
    or name in ("grpc_port", "http_port", "metrics_port")
}


SECRET_ENV = "ANYPOINT_CLIENT_SECRET"
"""The environment variable the client secret is read from (never a command-line flag)."""
LOST_EVENTS_EXIT = 3
"""The exit status when analytics events were lost (the log says how many and why)."""


class CommandError(Exception):
    """A bad flag or profile; the message says what to fix."""


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_serve_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``adapter`` on the ``asmkit serve`` subparsers; returns the new parser. The
    parser's defaults carry ``func`` (also as ``handler`` and ``serve_handler``): call it with
    the parsed args."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "adapter",
        help="run the reference adapter (gRPC and/or HTTP ext_authz) against a control plane",
        description=__doc__,
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="YAML file whose `settings:` mapping gives ReferenceAdapterConfig (flags override it)",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    parser.add_argument(
        "--client-secret-file",
        type=Path,
        help=f"read the client secret from this file (or set {SECRET_ENV}); a --client-secret"
        " flag is visible to every user of the machine (ps)",
    )
    for name, field in ReferenceAdapterConfig.model_fields.items():
        default = field.default if not field.is_required() else None
        help_text = f"ReferenceAdapterConfig.{name}" + (
            " (required)" if field.is_required() else f" (default {default!r})"
        )
        if name in _NULLABLE:
            help_text += "; 'none' turns it off"
        if name == "client_secret":
            help_text = f"avoid: visible in ps; use {SECRET_ENV} or --client-secret-file"
        parser.add_argument(_flag(name), dest=name, default=None, help=help_text)
    parser.set_defaults(func=run_command, handler=run_command, serve_handler=run_command)
    return parser


def settings_from_args(args: argparse.Namespace) -> ReferenceAdapterConfig:
    """Merge the profile's ``settings:`` with the flags and validate."""
    values: dict[str, Any] = {}
    profile: Path | None = getattr(args, "profile", None)
    if profile is not None:
        values.update(_profile_settings(profile))
    for name in ReferenceAdapterConfig.model_fields:
        raw = getattr(args, name, None)
        if raw is None:
            continue
        if isinstance(raw, str) and raw.lower() in _NONE_WORDS and name in _NULLABLE:
            values[name] = None
        else:
            values[name] = raw
    if getattr(args, "client_secret", None) is not None:
        log.warning(
            "--client-secret is visible to every user of this machine (ps): pass it in %s or"
            " with --client-secret-file instead",
            SECRET_ENV,
        )
    elif "client_secret" not in values or _PLACEHOLDER.fullmatch(str(values["client_secret"])):
        secret = _secret(getattr(args, "client_secret_file", None))
        if secret is not None:
            values["client_secret"] = secret
    try:
        return ReferenceAdapterConfig(**values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"]) or "settings"
            hint = f" (flag {_flag(field)})" if field in ReferenceAdapterConfig.model_fields else ""
            problems.append(f"  {field}{hint}: {error['msg']}")
        raise CommandError("invalid adapter settings:\n" + "\n".join(problems)) from None


_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def _secret(path: Path | None) -> str | None:
    """The client secret from ``--client-secret-file`` or the environment (None if neither)."""
    if path is not None:
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read(4097)
        except OSError as exc:
            raise CommandError(f"cannot read --client-secret-file {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise CommandError(f"--client-secret-file {path} is not UTF-8 text") from None
        if len(text) > 4096 or not text.strip():
            raise CommandError(f"--client-secret-file {path}: expected one line of up to 4 KiB")
        return text.strip()
    return os.environ.get(SECRET_ENV) or None


def _profile_settings(path: Path) -> dict[str, Any]:
    try:
        data = load_yaml(path)
    except OSError as exc:
        raise CommandError(f"cannot read profile {path}: {exc.strerror}") from None
    except YamlSyntaxError as exc:
        raise CommandError(str(exc)) from None
    if isinstance(data, dict) and "settings" not in data and isinstance(data.get("adapter"), dict):
        data = data["adapter"]  # an asmkit adapter profile: its adapter.settings
    if not isinstance(data, dict) or not isinstance(data.get("settings", {}), dict):
        raise CommandError(f"profile {path}: expected a mapping with a `settings:` mapping")
    # placeholders such as "{control_plane_url}" are filled by the conformance kit; when serving
    # by hand they come from the flags instead
    settings = {
        k: v
        for k, v in (data.get("settings") or {}).items()
        if not (isinstance(v, str) and _PLACEHOLDER.fullmatch(v))
    }
    unknown = sorted(set(settings) - set(ReferenceAdapterConfig.model_fields))
    if unknown:
        raise CommandError(
            f"profile {path}: unknown settings {', '.join(unknown)}; known: "
            + ", ".join(ReferenceAdapterConfig.model_fields)
        )
    return settings


async def serve(settings: ReferenceAdapterConfig, stop: asyncio.Event | None = None) -> int:
    """Run an adapter until ``stop`` is set (or SIGTERM/SIGINT), then stop it cleanly.
    Returns the number of analytics events lost (dropped, refused, or undelivered at stop)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError):
            pass
    adapter = ReferenceAdapter(settings)
    try:
        await adapter.start()
        print(
            f"reference adapter listening: grpc_port={adapter.grpc_port} "
            f"http_port={adapter.http_port} metrics_port={adapter.metrics_port}",
            flush=True,
        )
        await stop.wait()
    finally:
        await adapter.stop()
        for sig in installed:
            loop.remove_signal_handler(sig)
    return adapter.lost_events


def run_command(args: argparse.Namespace) -> int:
    """Entry point for ``asmkit serve adapter``; returns the process exit code."""
    try:
        settings = settings_from_args(args)
    except CommandError as exc:
        print(f"asmkit serve adapter: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=str(getattr(args, "log_level", "INFO")).upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        lost = asyncio.run(serve(settings))
    except OSError as exc:
        print(f"asmkit serve adapter: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0 if lost == 0 else LOST_EVENTS_EXIT
