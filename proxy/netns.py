"""Network namespaces the kit creates for an adapter: only a loopback interface, the platform
host names answered from the namespace's own ``hosts`` file, no other name server and no route
out, so anything that is not redirected fails closed. Needs root and iproute2's ``ip``.

Sockets inside the namespace are made by one worker thread that entered it (``setns``); the
kit's own threads never leave the host's namespace. Names start with ``asmkit-<pid>-`` so a
later run can remove what a killed run left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import itertools
import os
import shutil
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PREFIX = "asmkit-"
RUN_DIR = Path("/var/run/netns")
ETC_DIR = Path("/etc/netns")
CLONE_NEWNET = 0x40000000
IP_TIMEOUT_S = 10.0
_COUNTER = itertools.count(1)


class NetnsError(RuntimeError):
    """A namespace could not be made or used; the message says why and what to do."""


def unavailable_reason() -> str | None:
    """Why namespaces cannot be used here, or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root (run as root, or use redirect: env, isolate: false)"
    if shutil.which("ip") is None:
        return "iproute2's ip command is missing (apt-get install iproute2)"
    return None


def _ip(*args: str) -> str:
    try:
        done = subprocess.run(
            ["ip", *args], capture_output=True, text=True, timeout=IP_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NetnsError(f"ip {' '.join(args)} failed: {exc}") from None
    if done.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale() -> list[str]:
    """Delete ``asmkit-<pid>-*`` namespaces (and their /etc/netns folders) of dead processes."""
    removed = []
    for line in _ip("netns", "list").splitlines():
        name = line.split()[0] if line.strip() else ""
        if not name.startswith(PREFIX):
            continue
        pid = name[len(PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(NetnsError):
                _ip("netns", "delete", name)
            shutil.rmtree(ETC_DIR / name, ignore_errors=True)
            removed.append(name)
    return removed


def hosts_text(names: dict[str, str]) -> str:
    lines = ["127.0.0.1 localhost", "::1 localhost ip6-localhost"]
    lines += [f"{address} {name}" for name, address in sorted(names.items())]
    return "\n".join(lines) + "\n"


def _enter(name: str) -> None:
    """Move the calling thread into namespace ``name`` (the worker thread's initializer)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(RUN_DIR / name, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns into {name}: {os.strerror(errno)}")
    finally:
        os.close(fd)


class Namespace:
    """One namespace: create, run commands in it, make sockets in it, delete it."""

    def __init__(self, hosts: dict[str, str] | None = None) -> None:
        self.name = f"{PREFIX}{os.getpid()}-{next(_COUNTER)}"
        self.hosts = dict(hosts or {})
        self._worker: ThreadPoolExecutor | None = None
        self.created = False

    def create(self) -> None:
        reason = unavailable_reason()
        if reason:
            raise NetnsError(reason)
        remove_stale()
        _ip("netns", "add", self.name)
        self.created = True
        try:
            _ip("-n", self.name, "link", "set", "lo", "up")
            folder = ETC_DIR / self.name
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "hosts").write_text(hosts_text(self.hosts))
            # No name server listens in the namespace: every other name fails at once.
            (folder / "resolv.conf").write_text(
                "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"
            )
            self._worker = ThreadPoolExecutor(1, f"netns-{self.name}", _enter, (self.name,))
            try:
                self._worker.submit(lambda: None).result(IP_TIMEOUT_S)
            except Exception as exc:
                raise NetnsError(f"cannot enter namespace {self.name}: {exc}") from None
        except BaseException:
            self.delete()
            raise

    def set_hosts(self, hosts: dict[str, str]) -> None:
        """Rewrite the namespace's ``hosts`` file in place (the running adapter sees it)."""
        self.hosts = dict(hosts)
        (ETC_DIR / self.name / "hosts").write_text(hosts_text(self.hosts))

    def prefix(self) -> list[str]:
        """Prepend to an argv to run it inside the namespace (with its /etc/netns files)."""
        return ["ip", "netns", "exec", self.name]

    def delete(self) -> None:
        if self._worker is not None:
            self._worker.shutdown(wait=False, cancel_futures=True)
            self._worker = None
        if self.created:
            with contextlib.suppress(NetnsError):
                _ip("netns", "delete", self.name)
            self.created = False
        shutil.rmtree(ETC_DIR / self.name, ignore_errors=True)
        with contextlib.suppress(OSError):
            ETC_DIR.rmdir()  # only when empty: /etc/netns as it was before the kit

    async def new_socket(self) -> socket.socket:
        """A new TCP socket that lives in this namespace."""
        if self._worker is None:
            raise NetnsError(f"namespace {self.name} is not open")
        loop = asyncio.get_running_loop()
        sock = await loop.run_in_executor(self._worker, socket.socket)
        sock.setblocking(False)
        return sock

    async def listen(self, host: str, port: int) -> socket.socket:
        sock = await self.new_socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        return sock

    async def connect(
        self, host: str, port: int, timeout_s: float = 5.0
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Open a TCP connection from inside the namespace."""
        sock = await self.new_socket()
        try:
            loop = asyncio.get_running_loop()
            await asyncio.wait_for(loop.sock_connect(sock, (host, port)), timeout_s)
        except BaseException:
            sock.close()
            raise
        return await asyncio.open_connection(sock=sock)
