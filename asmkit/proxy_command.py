"""``asmkit proxy``: mitmproxy between an unmodified adapter and the platform hosts.

``asmkit proxy run [OPTIONS] [-- COMMAND ...]`` redirects (to a fake control plane, or to the
real hosts with ``--real``), records (``--record FILE``) and breaks the link (``--faults``);
with a COMMAND it runs the adapter inside the redirect until it exits or Ctrl-C.
``asmkit proxy learn CASSETTE`` lists the endpoints a recorded adapter used and which of them
the fake does not implement.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from common.yaml_source import YamlSyntaxError, load_yaml
from fake_anypoint.cassette import CassetteError, load_cassette, parse_cassette, write_cassette
from fake_anypoint.learn import endpoint_uses, unimplemented
from fake_anypoint.tls import ensure_ca
from proxy.ca import CaError, CaPaths
from proxy.control import ProxyControl
from proxy.mitmdump import MitmProxy, ProxyError, ProxySettings
from proxy.netfaults import NetworkFault
from proxy.netns import NetnsError, unavailable_reason
from proxy.redirect import Redirect, RedirectMode

PLATFORM_HOST = "anypoint.mulesoft.com"
INGEST_HOST = "analytics-ingest.anypoint.mulesoft.com"


def add_proxy_parser(commands: Any) -> None:
    proxy = commands.add_parser(
        "proxy",
        help="mitmproxy between an unmodified adapter and the platform: redirect, record, break",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = proxy.add_subparsers(title="actions", metavar="ACTION")
    run = sub.add_parser("run", help="run the proxy (and an adapter command inside it)")
    target = run.add_mutually_exclusive_group(required=True)
    target.add_argument("--control-plane", metavar="URL", help="the fake's platform origin")
    target.add_argument(
        "--real", action="store_true", help="forward to the real platform hosts (recording)"
    )
    run.add_argument("--ingest", metavar="URL", help="the fake's ingest origin")
    run.add_argument("--platform-host", default=PLATFORM_HOST)
    run.add_argument("--ingest-host", default=INGEST_HOST)
    run.add_argument(
        "--redirect",
        choices=("env", "netns"),
        help="env: HTTPS_PROXY; netns: a namespace, no cooperation (default with a COMMAND)",
    )
    run.add_argument(
        "--no-isolate",
        action="store_true",
        help="run the COMMAND in the host's network (env redirect only; it may reach anything)",
    )
    run.add_argument("--record", metavar="FILE", type=Path, help="write a cassette here")
    run.add_argument("--faults", metavar="FILE", type=Path, help="YAML list of network faults")
    run.add_argument(
        "--expose",
        metavar="PORT",
        type=int,
        action="append",
        default=[],
        help="make the COMMAND's port reachable on 127.0.0.1 (netns; repeatable)",
    )
    run.add_argument("--ca-dir", type=Path, default=Path("build/ca"), help="the kit's test CA")
    run.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARGS...]")
    run.set_defaults(func=run_proxy)
    learn = sub.add_parser("learn", help="endpoints a recorded adapter used, and the fake's gaps")
    learn.add_argument("cassette", type=Path)
    learn.add_argument("--json", action="store_true", help="one JSON object per endpoint")
    learn.set_defaults(func=run_learn)
    proxy.set_defaults(func=lambda args: proxy.print_help() or 2)


def load_faults(path: Path) -> list[NetworkFault]:
    """A YAML list of network faults; ValueError naming the file and the field."""
    try:
        data = load_yaml(path)
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    except YamlSyntaxError as exc:
        raise ValueError(str(exc)) from None
    try:
        return TypeAdapter(list[NetworkFault]).validate_python(data or [])
    except ValidationError as exc:
        problems = [
            f"  {path}: {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        ]
        raise ValueError("invalid network faults:\n" + "\n".join(problems)) from None


def _settings(args: argparse.Namespace) -> ProxySettings:
    files = ensure_ca(args.ca_dir)
    hosts = {args.platform_host.lower(): "platform", args.ingest_host.lower(): "ingest"}
    routes: dict[str, str] = {}
    if not args.real:
        if not args.ingest:
            raise ValueError("--ingest URL is needed with --control-plane (the fake's ingest)")
        routes = {
            args.platform_host.lower(): args.control_plane,
            args.ingest_host.lower(): args.ingest,
        }
    return ProxySettings(
        CaPaths(files.ca_cert, files.ca_key),
        hosts,
        routes,
        record=args.record is not None,
        allow_real=bool(args.real),
    )


def run_proxy(args: argparse.Namespace) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    mode: RedirectMode = args.redirect or ("netns" if command else "env")
    if mode == "netns" and not command:
        print("asmkit proxy run: --redirect netns needs a COMMAND after --", file=sys.stderr)
        return 2
    isolate = not args.no_isolate
    if command and (mode == "netns" or isolate) and (reason := unavailable_reason()):
        print(f"asmkit proxy run: {reason}", file=sys.stderr)
        return 2
    try:
        settings = _settings(args)
        faults = load_faults(args.faults) if args.faults else []
        return asyncio.run(_run(settings, command, mode, isolate, faults, args))
    except (ValueError, CaError, ProxyError, NetnsError, CassetteError) as exc:
        print(f"asmkit proxy run: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


async def _run(
    settings: ProxySettings,
    command: list[str],
    mode: RedirectMode,
    isolate: bool,
    faults: list[NetworkFault],
    args: argparse.Namespace,
) -> int:
    proxy = MitmProxy(settings)
    await asyncio.to_thread(proxy.start)
    control = ProxyControl(proxy)
    redirect = Redirect(proxy, mode, isolate=isolate and bool(command))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        if faults:
            await control.set_faults(faults)
        await redirect.open()
        _announce(proxy, settings, mode)
        code = await (_adapter(redirect, command, args.expose, stop) if command else _idle(stop))
        if args.record is not None:
            cassette = parse_cassette(await control.take(), "the proxy's recording")
            write_cassette(cassette, args.record)
            print(f"asmkit proxy: {len(cassette.interactions)} exchanges -> {args.record}")
        events, _ = await control.events()
        for event in events:
            print(
                f"asmkit proxy: fault {event['name']}: {event['host']} {event['method']}"
                f" {event['path']} {event['detail']}".replace("  ", " ")
            )
        return code
    finally:
        await redirect.close()
        await asyncio.to_thread(proxy.stop)


def _announce(proxy: MitmProxy, settings: ProxySettings, mode: str) -> None:
    where = "the real platform" if settings.allow_real else ", ".join(settings.routes.values())
    print(f"asmkit proxy: {', '.join(settings.hosts)} -> {where}", flush=True)
    print(f"  HTTPS_PROXY={proxy.proxy_url}", flush=True)
    print(f"  trust: SSL_CERT_FILE / NODE_EXTRA_CA_CERTS = {settings.ca.cert.resolve()}")
    if mode == "netns":
        print("  the command runs in a network namespace: platform names lead to the proxy")


async def _idle(stop: asyncio.Event) -> int:
    print("  Ctrl-C stops the proxy", flush=True)
    await stop.wait()
    return 0


async def _adapter(
    redirect: Redirect, command: list[str], expose: list[int], stop: asyncio.Event
) -> int:
    env = {**os.environ, **redirect.env()}
    process = await asyncio.create_subprocess_exec(*redirect.wrap(command), env=env)
    for port in expose:
        await redirect.expose(port)
    waiter = asyncio.ensure_future(process.wait())
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(waiter, 10)
        except TimeoutError:
            process.kill()
            await process.wait()
    return process.returncode or 0


def run_learn(args: argparse.Namespace) -> int:
    try:
        cassette = load_cassette(args.cassette)
    except CassetteError as exc:
        print(f"asmkit proxy learn: {exc}", file=sys.stderr)
        return 2
    uses = asyncio.run(endpoint_uses(cassette))
    if args.json:
        for use in uses:
            print(json.dumps(use.to_dict()))
        return 0
    print(f"{args.cassette}: {len(cassette.interactions)} exchanges, {len(uses)} endpoints")
    for use in uses:
        mark = " " if use.implemented else "!"
        statuses = ", ".join(f"{s}x{n}" for s, n in sorted(use.statuses.items()))
        print(f" {mark} {use.count:6d}  {use.role:8} {use.method:6} {use.template}  [{statuses}]")
    missing = unimplemented(uses)
    print(
        f"endpoints this adapter used that the fake does not implement: {len(missing)}"
        + (" (marked !; a replay answers them from the cassette)" if missing else "")
    )
    return 0
