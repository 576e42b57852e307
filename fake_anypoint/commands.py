"""``asmkit serve control-plane``: run the fake Anypoint control plane from the command line.

``add_serve_parser(subparsers)`` registers the sub-command on the lead's ``asmkit serve``
parser; the parsed namespace's ``func(args) -> int`` runs it until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import Any, TextIO

from common.clock import MonotonicClock

from .bounded import IngestLimits
from .cassette import CassetteError, load_cassette
from .httpkit import ADMIN_TOKEN_HEADER
from .quotas import PLATFORM_LIMIT
from .replay import Replayer
from .server import HEADER_TIMEOUT_S, ControlPlaneServer
from .state import ControlPlaneState
from .store import SqliteStore


def add_serve_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``control-plane`` to an ``argparse`` sub-parsers object and return its parser. Long
    because it only declares options, one after another."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "control-plane",
        help="run the fake Anypoint control plane",
        description="Serve the fake Anypoint control plane (platform + analytics-ingest origins).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="platform port (0 = any free port)")
    parser.add_argument(
        "--ingest-port", type=int, default=0, help="analytics-ingest port (0 = any free port)"
    )
    parser.add_argument("--https", action="store_true", help="serve https with a test CA")
    parser.add_argument(
        "--ca-dir", default="build/ca", help="where the test CA and server cert live (build/ca)"
    )
    parser.add_argument(
        "--state", metavar="FILE", default=None, help="SQLite file: keep the state across restarts"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for generated ids (default 0)")
    parser.add_argument(
        "--admin-token-file",
        metavar="FILE",
        default=None,
        help=f"require the token in FILE (or ${ADMIN_TOKEN_ENV}) as the {ADMIN_TOKEN_HEADER} "
        "header on /_admin/ (never pass it on the command line)",
    )
    parser.add_argument(
        "--max-batch-bytes",
        type=int,
        default=IngestLimits.max_bytes,
        help="bytes of one analytics batch once decompressed "
        f"(default {IngestLimits.max_bytes}); 413 past it",
    )
    parser.add_argument(
        "--max-batch-events",
        type=int,
        default=IngestLimits.max_events,
        help=f"events per analytics batch (default {IngestLimits.max_events}); 413 past it",
    )
    parser.add_argument(
        "--platform-rate-limit",
        type=int,
        default=PLATFORM_LIMIT,
        help=f"requests per minute per caller on the public APIs (default {PLATFORM_LIMIT}; "
        "0 = no limit); past it 503 with X-RateLimit-* headers, as the platform answers",
    )
    parser.add_argument(
        "--header-timeout",
        type=float,
        default=HEADER_TIMEOUT_S,
        help=f"close connections that send no whole request head in this many seconds "
        f"(default {HEADER_TIMEOUT_S:g})",
    )
    parser.add_argument(
        "--cassette",
        metavar="FILE",
        type=Path,
        help="answer from a recording (asmkit proxy run --record): endpoints this fake lacks",
    )
    parser.add_argument(
        "--replay",
        choices=("unknown", "reads"),
        default="unknown",
        help="with --cassette: only unknown endpoints (default), or every recorded read too",
    )
    # ``serve_handler`` is what ``asmkit serve`` dispatches to; ``func`` serves standalone parsers.
    parser.set_defaults(func=run_serve, serve_handler=run_serve)
    return parser


ADMIN_TOKEN_ENV = "ASMKIT_ADMIN_TOKEN"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _check_port(name: str, value: int) -> None:
    if not 0 <= value <= 65535:
        raise ValueError(f"{name}: {value} is not a TCP port (0-65535; 0 = any free port)")


def run_serve(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Run until SIGINT/SIGTERM; returns the process exit code."""
    try:
        _check_port("--port", args.port)
        _check_port("--ingest-port", args.ingest_port)
        return asyncio.run(serve(args, out))
    except (ValueError, CassetteError) as exc:
        print(f"asmkit serve control-plane: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"asmkit serve control-plane: cannot listen: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


def admin_token(args: argparse.Namespace) -> str | None:
    """The admin token from ``--admin-token-file`` or the environment (None: no token)."""
    path = getattr(args, "admin_token_file", None)
    if path:
        try:
            token = Path(path).read_text().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"--admin-token-file {path}: cannot be read ({exc})") from None
        if not token:
            raise ValueError(f"--admin-token-file {path}: the file is empty; put a token in it")
        return token
    return os.environ.get(ADMIN_TOKEN_ENV, "").strip() or None


def exposure_warning(host: str, token: str | None) -> str | None:
    """A warning when the admin API is reachable beyond this machine without a token."""
    if token or host in LOOPBACK or host.startswith("127."):
        return None
    return (
        f"warning: --host {host} makes the admin API (/_admin/: reset, snapshot with every "
        "secret, faults) reachable from the network without authentication; set "
        f"${ADMIN_TOKEN_ENV} or --admin-token-file to require a token"
    )


async def serve(args: argparse.Namespace, out: TextIO, stop: asyncio.Event | None = None) -> int:
    """Run the fake until interrupted: state (persistent or not), cassette, server, and a summary on
    exit. Long because it wires those in order."""
    token = admin_token(args)
    warning = exposure_warning(args.host, token)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    limits = IngestLimits(
        getattr(args, "max_batch_bytes", IngestLimits.max_bytes),
        getattr(args, "max_batch_events", IngestLimits.max_events),
    )
    state = ControlPlaneState(clock=MonotonicClock(), seed=args.seed)
    cassette_path = getattr(args, "cassette", None)
    if cassette_path is not None:
        cassette = load_cassette(cassette_path)
        state.replay = Replayer(cassette, state.clock.now, getattr(args, "replay", "unknown"))
    store = SqliteStore(args.state) if args.state else None
    try:
        loaded = store.attach(state) if store else False
        server = ControlPlaneServer(
            state,
            args.host,
            args.port,
            args.ingest_port,
            args.https,
            ca_dir=Path(args.ca_dir),
            ingest_limits=limits,
            header_timeout_s=getattr(args, "header_timeout", HEADER_TIMEOUT_S),
            admin_token=token,
            platform_rate_limit=getattr(args, "platform_rate_limit", PLATFORM_LIMIT),
        )
    except BaseException:
        if store is not None:
            store.close()
        raise
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    await server.start()
    try:
        lines = [
            f"base_url:      {server.base_url}",
            f"ingest_url:    {server.ingest_url}",
            f"org_id:        {state.org_id}",
            f"env_id:        {state.env_id}",
            f"client_id:     {state.connected_app.client_id}",
            f"client_secret: {state.connected_app.client_secret}",
            f"user:          {state.user['username']} / {state.user['password']}",
        ]
        if server.ca_path is not None:
            lines.append(f"ca:            {server.ca_path.resolve()}")
        if store is not None:
            lines.append(f"state:         {store.path} ({'reloaded' if loaded else 'new'})")
        print("\n".join(lines), file=out, flush=True)
        await stop.wait()
    finally:
        await server.stop()
        if store is not None:
            store.close()
        if state.replay is not None:
            print(replay_summary(state.replay), file=out, flush=True)
    return 0


def replay_summary(replay: Replayer) -> str:
    """What the recording answered: the endpoints this fake does not implement, with counts."""
    lines = [f"answered from the cassette: {sum(replay.served.values())} recorded reads"]
    missing = sorted(replay.unimplemented.items(), key=lambda kv: -kv[1])
    lines.append(f"endpoints this adapter used that the fake does not implement: {len(missing)}")
    lines += [f"  {count:6d}  {method} {path}" for (method, path), count in missing]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Standalone entry: ``python -m fake_anypoint.commands [options]``."""
    parser = argparse.ArgumentParser(prog="asmkit serve")
    sub = parser.add_subparsers(dest="what", required=True)
    add_serve_parser(sub)
    args = parser.parse_args(["control-plane", *(sys.argv[1:] if argv is None else argv)])
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
