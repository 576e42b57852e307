"""Starting and stopping the adapter under test, as its profile says: in-process (a Python
factory) or as a command (a child process with templated argv and env)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import os
import re
import signal
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from live.profile import AdapterLaunch

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


class AdapterError(RuntimeError):
    """The adapter could not be started, or did not become reachable. ``still_running``: a
    command adapter that had not exited when the kit gave up on it (and stopped it)."""

    def __init__(self, message: str, *, still_running: bool = False) -> None:
        super().__init__(message)
        self.still_running = still_running


class InProcessAdapter(Protocol):
    """What an ``in_process`` factory returns."""

    grpc_port: int | None
    http_port: int | None

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class AdapterNetwork(Protocol):
    """Where a command adapter runs and how the kit reaches it (``proxy.redirect.Redirect``):
    its argv and environment, and its ports seen from the kit's loopback."""

    def wrap(self, argv: list[str]) -> list[str]: ...

    def env(self) -> dict[str, str]: ...

    async def expose(self, port: int) -> None: ...

    async def reachable(self, port: int) -> bool: ...


def free_port() -> int:
    """An ephemeral loopback port that was free a moment ago (for child processes)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def port_held(port: int) -> Iterator[None]:
    """Hold loopback ``port`` (bound, not listening, no reuse options) so that no server can
    bind it, and connecting to it is refused; AdapterError when it is not free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise AdapterError(f"the kit cannot hold 127.0.0.1:{port}: {exc.strerror}") from None
        yield


def bindable(port: int) -> bool:
    """Whether a server could listen on loopback ``port`` now (``SO_REUSEADDR`` set, as
    servers set it, so a closed connection's ``TIME_WAIT`` does not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def render(value: Any, variables: dict[str, Any]) -> Any:
    """Fill ``{name}`` placeholders; a value that is exactly one placeholder keeps its type
    (None inside a longer string is ``none``)."""
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value)
        if whole:
            return _lookup(whole.group(1), variables)
        return _PLACEHOLDER.sub(lambda m: _text(_lookup(m.group(1), variables)), value)
    if isinstance(value, list):
        return [render(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: render(v, variables) for k, v in value.items()}
    return value


def _text(value: Any) -> str:
    return "none" if value is None else str(value)


def _lookup(name: str, variables: dict[str, Any]) -> Any:
    if name not in variables:
        known = ", ".join(sorted(variables))
        raise AdapterError(f"unknown placeholder {{{name}}} in the adapter profile; known: {known}")
    return variables[name]


@dataclass
class RunningAdapter:
    """A started adapter: where it listens and how to stop it."""

    grpc_port: int | None
    http_port: int | None
    _instance: InProcessAdapter | None = None
    metrics_url: str | None = None
    """Where the adapter serves its Prometheus metrics (the profile's ``metrics_url``)."""
    exit_code: int | None = None
    """A command adapter's exit status once stopped (non-zero: e.g. it lost analytics)."""
    _process: asyncio.subprocess.Process | None = None
    _stop_timeout: float = 10.0
    log_path: Path | None = None
    still_listening: tuple[int, ...] = ()
    """After an in-process adapter's stop or kill: the ports it had opened that nobody can bind
    yet (a face its ``stop()`` or ``abort()`` left listening). A child process's are the
    kernel's to release."""

    async def stop(self, within: float | None = None) -> bool:
        """A clean stop (SIGTERM for a command adapter); True when it ended in time. A command
        adapter gets ``within`` (else the profile's ``stop_timeout``) to exit, an in-process one
        ``within`` (else no bound); one that overruns is killed, as Kubernetes kills a pod
        after its grace period."""
        clean = True
        if self._instance is not None:
            instance, self._instance = self._instance, None
            if within is None:
                await instance.stop()
            else:
                try:
                    async with asyncio.timeout(within):
                        await instance.stop()
                except TimeoutError:
                    clean = False
                    abort = getattr(instance, "abort", None)
                    if abort is not None:
                        await abort()
            self.still_listening = self._ports_still_held()
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.send_signal(signal.SIGTERM)
            try:
                bound = self._stop_timeout if within is None else within
                await asyncio.wait_for(self._process.wait(), bound)
            except TimeoutError:
                clean = False
                self._process.kill()
                await self._process.wait()
        if self._process is not None:
            _untrack(self._process.pid)
            self.exit_code = self._process.returncode
        self._process = None
        return clean

    def ports(self) -> tuple[int, ...]:
        """The loopback ports the adapter listens on: its faces and its metrics endpoint."""
        metrics = urlsplit(self.metrics_url).port if self.metrics_url else None
        return tuple(p for p in (self.grpc_port, self.http_port, metrics) if p)

    def _ports_still_held(self) -> tuple[int, ...]:
        """The adapter's ports that cannot be bound yet (called once its stop returned)."""
        return tuple(p for p in self.ports() if not bindable(p))

    async def kill(self) -> None:
        """Stop at once, as SIGKILL does: a child process gets SIGKILL; an in-process adapter
        its ``abort()`` when it has one (else ``stop()``). Nothing is flushed."""
        if self._instance is not None:
            instance, self._instance = self._instance, None
            abort = getattr(instance, "abort", None)
            await (abort() if abort is not None else instance.stop())
            self.still_listening = self._ports_still_held()
        if self._process is not None and self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.kill()
            await self._process.wait()
        self._process = None

    @property
    def running(self) -> bool:
        if self._process is not None:
            return self._process.returncode is None
        return self._instance is not None


async def start_adapter(
    launch: AdapterLaunch,
    variables: dict[str, Any],
    *,
    transport: str,
    log_path: Path | None,
    shared: dict[str, Any] | None = None,
    network: AdapterNetwork | None = None,
) -> RunningAdapter:
    """Start a fresh adapter and wait until its ext_authz port accepts connections.

    ``shared`` is one mapping per group of replicas; an in-process factory that takes a
    ``shared`` keyword gets it (to share cluster state such as rate-limit counters).
    ``network`` (commands only) runs the adapter elsewhere, e.g. in a network namespace. Long
    because the in-process and the command paths share one start, wait and error report; each branch
    is short.
    """
    if launch.in_process is not None:
        factory = _import(launch.in_process)
        settings = render(launch.settings, variables)
        if shared is not None and "shared" in inspect.signature(factory).parameters:
            instance: InProcessAdapter = factory(settings, shared=shared)
        else:
            instance = factory(settings)
        try:
            await instance.start()
        except Exception as exc:
            raise AdapterError(f"the adapter failed to start: {exc}") from exc
        metrics_port = getattr(instance, "metrics_port", None)  # bound now (0 was ephemeral)
        return RunningAdapter(
            instance.grpc_port,
            instance.http_port,
            _instance=instance,
            metrics_url=_metrics_url(launch, {**variables, "metrics_port": metrics_port}),
        )
    assert launch.command is not None
    argv = [str(a) for a in render(launch.command, variables)]
    env = {**os.environ, **(network.env() if network else {})}
    env.update({k: str(v) for k, v in render(launch.env, variables).items()})
    if network is not None:
        argv = network.wrap(argv)
    log = open(log_path, "wb") if log_path else None  # noqa: SIM115 - kept open for the child
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            env=env,
            stdout=log or asyncio.subprocess.DEVNULL,
            stderr=log or asyncio.subprocess.DEVNULL,
        )
    except OSError as exc:
        raise AdapterError(f"cannot run the adapter command {argv[0]!r}: {exc.strerror}") from exc
    finally:
        if log:
            log.close()
    port = variables["grpc_port"] if transport == "grpc" else variables["http_port"]
    running = RunningAdapter(
        variables["grpc_port"],
        variables["http_port"],
        _process=process,
        _stop_timeout=launch.stop_timeout,
        log_path=log_path,
        metrics_url=_metrics_url(launch, variables),
    )
    _track(process.pid, argv[0])
    try:
        if network is not None:
            await network.expose(port)
        ready = await _wait_port(port, launch.ready_timeout, process, network)
    except BaseException:  # interrupted (SIGINT/SIGTERM cancel the run): stop it on the way out
        await running.stop()
        raise
    if not ready:
        still_running = process.returncode is None
        await running.stop()
        tail = _tail(log_path)
        raise AdapterError(
            f"the adapter command did not open 127.0.0.1:{port} within {launch.ready_timeout:g}s"
            f" (exit code {process.returncode}){tail}",
            still_running=still_running,
        )
    return running


_STARTED: dict[int, tuple[str, int | None]] = {}
"""pid -> (program, pidfd) of every adapter process started and not yet stopped: a last resort
for `kill_leftovers`. The pidfd (Linux) names the process itself, never a reused pid."""


def _track(pid: int, program: str) -> None:
    fd: int | None = None
    with contextlib.suppress(AttributeError, OSError):  # pidfd_open: Linux 5.3+
        fd = os.pidfd_open(pid)
    _STARTED[pid] = (program, fd)


def _untrack(pid: int) -> None:
    _, fd = _STARTED.pop(pid, ("", None))
    if fd is not None:
        os.close(fd)


def kill_leftovers() -> list[str]:
    """Kill adapter processes still running although their stack is gone (the run was cut
    short in a way no ``finally`` could handle); returns what was killed. Only processes this
    module started and can name by pidfd are touched."""
    killed = []
    for pid, (program, fd) in list(_STARTED.items()):
        if fd is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                signal.pidfd_send_signal(fd, signal.SIGKILL)
                killed.append(f"{program} (pid {pid})")
        _untrack(pid)
    return killed


def _metrics_url(launch: AdapterLaunch, variables: dict[str, Any]) -> str | None:
    if launch.metrics_url is None:
        return None
    url = str(render(launch.metrics_url, variables))
    if "None" in url:
        raise AdapterError(
            f"adapter.metrics_url {launch.metrics_url!r} names a port the adapter did not open"
            " (does it serve metrics? for in_process adapters: a metrics_port attribute)"
        )
    return url


def _import(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    if not attr:
        raise AdapterError(f"in_process must be 'module:callable', got {target!r}")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise AdapterError(f"cannot import the adapter factory {target!r}: {exc}") from exc


async def _wait_port(
    port: int,
    timeout: float,
    process: asyncio.subprocess.Process,
    network: AdapterNetwork | None = None,
) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if process.returncode is not None:
            return False
        if network is not None:
            if await network.reachable(port):
                return True
            await asyncio.sleep(0.05)
            continue
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True
    return False


def _tail(path: Path | None, lines: int = 15) -> str:
    if path is None or not path.exists():
        return ""
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return "; its last output:\n    " + "\n    ".join(text) if text else ""
