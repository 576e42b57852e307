"""Running ``mitmdump`` with the asmkit addon: finding its environment (``.venv-mitm``, made by
``dev.py``), choosing its loopback listeners, starting and stopping it, bounded in time.

Listeners (all on 127.0.0.1): ``control`` (the kit's control API), ``proxy`` (what an adapter's
``HTTPS_PROXY`` names) and one reverse listener per platform host (what the no-cooperation
redirect hands the adapter's TLS connections to).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from proxy.ca import CaPaths, confdir

ROOT = Path(__file__).resolve().parent.parent
MITM_VENV = ROOT / ".venv-mitm"
MITM_PACKAGE = Path(__file__).resolve().parent / "mitm"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
ENV_VARIABLE = "ASMKIT_MITMDUMP"


class ProxyError(RuntimeError):
    """The proxy could not be found, started or reached; the message says how to fix it."""


def find_mitmdump(*, create: bool = True) -> Path:
    """``$ASMKIT_MITMDUMP``, else ``.venv-mitm/bin/mitmdump`` (made by ``dev.py mitm`` on first
    use when this is a source checkout)."""
    named = os.environ.get(ENV_VARIABLE)
    if named:
        if not Path(named).is_file():
            raise ProxyError(f"{ENV_VARIABLE}={named} is not a file: point it at mitmdump 12")
        return Path(named)
    binary = MITM_VENV / "bin" / "mitmdump"
    if binary.is_file():
        return binary
    dev = ROOT / "dev.py"
    if create and dev.is_file():
        print("asmkit: creating .venv-mitm for mitmproxy 12 (first use only)", file=sys.stderr)
        done = subprocess.run(
            [sys.executable, str(dev), "mitm"], timeout=600, check=False, cwd=ROOT
        )
        if done.returncode == 0 and binary.is_file():
            return binary
    raise ProxyError(
        "mitmproxy 12 is not installed: run `python3 dev.py mitm` (it makes .venv-mitm with "
        f"Python >= 3.12), or set {ENV_VARIABLE} to a mitmdump 12 binary"
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ProxySettings:
    """What one mitmdump serves. ``hosts`` maps each platform host name to its role
    (``platform`` or ``ingest``); ``routes`` maps host names to upstream origins."""

    ca: CaPaths
    hosts: dict[str, str]
    routes: dict[str, str] = field(default_factory=dict)
    record: bool = False
    allow_real: bool = False
    seed: int = 0


class MitmProxy:
    """A running ``mitmdump`` (synchronous start and stop: it outlives event loops)."""

    def __init__(self, settings: ProxySettings, *, workdir: Path | None = None) -> None:
        self.settings = settings
        self._own_dir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="asmkit-proxy-"))
        self.token = secrets.token_urlsafe(16)
        self.control_port = 0
        self.proxy_port = 0
        self.reverse_ports: dict[str, int] = {}
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.workdir / "mitmdump.log"

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    @property
    def control_url(self) -> str:
        return f"http://127.0.0.1:{self.control_port}"

    def _write_files(self, ready: Path) -> list[str]:
        package = self.workdir / "pkg"
        package.mkdir(exist_ok=True)
        link = package / "asmkit_mitm"
        if not link.exists():
            link.symlink_to(MITM_PACKAGE, target_is_directory=True)
        entry = self.workdir / "asmkit_entry.py"
        entry.write_text("from asmkit_mitm.addon import addons  # noqa: F401\n")
        config = {
            "control_port": self.control_port,
            "token": self.token,
            "ready_file": str(ready),
            "routes": self.settings.routes,
            "roles": self.settings.hosts,
            "record": self.settings.record,
            "allow_real": self.settings.allow_real,
            "ca_cert": str(self.settings.ca.cert),
            "ca_key": str(self.settings.ca.key),
            "seed": self.settings.seed,
            "workdir": str(self.workdir) if self._own_dir else None,
        }
        config_path = self.workdir / "config.json"
        config_path.write_text(json.dumps(config))
        config_path.chmod(0o600)
        modes = [f"regular@127.0.0.1:{self.control_port}", f"regular@127.0.0.1:{self.proxy_port}"]
        for host, port in self.reverse_ports.items():
            modes.append(f"reverse:https://{host}@127.0.0.1:{port}")
        options = {
            "confdir": str(confdir(self.settings.ca, self.workdir / "confdir")),
            "connection_strategy": "lazy",
            "upstream_cert": "false",
            "store_streamed_bodies": "true",
            "termlog_verbosity": "warn",
            "flow_detail": "0",
            "asmkit_config": str(config_path),
        }
        argv = [arg for mode in modes for arg in ("--mode", mode)]
        argv += [arg for k, v in options.items() for arg in ("--set", f"{k}={v}")]
        return [*argv, "-s", str(entry)]

    def start(self, timeout_s: float = START_TIMEOUT_S, attempts: int = 3) -> None:
        """Start mitmdump and wait until its addon reports ready (or fail with its log). Ports
        are picked free just before; if another process took one meanwhile, pick again."""
        for attempt in range(1, attempts + 1):
            try:
                self._start_once(timeout_s)
                return
            except ProxyError as exc:
                if attempt == attempts or "address already in use" not in str(exc).lower():
                    raise

    def _start_once(self, timeout_s: float) -> None:
        if self.process is not None:
            raise ProxyError("the proxy is already running")
        binary = find_mitmdump()
        self.control_port, self.proxy_port = free_port(), free_port()
        self.reverse_ports = {host: free_port() for host in self.settings.hosts}
        ready = self.workdir / "ready.json"
        ready.unlink(missing_ok=True)
        argv = [str(binary), *self._write_files(ready)]
        env = {**os.environ, "PYTHONPATH": str(self.workdir / "pkg"), "PYTHONNOUSERSITE": "1"}
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if ready.exists() and ready.stat().st_size:
                return
            if self.process.poll() is not None:
                break
            _pause(0.05)
        code = self.process.poll()
        self.stop()
        state = f"exited with code {code}" if code is not None else f"not ready in {timeout_s:g}s"
        raise ProxyError(f"mitmdump {state}; its log:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return "(no log)"
        return "\n".join(f"    {line}" for line in text) or "    (empty)"

    def stop(self) -> None:
        """SIGTERM (mitmdump writes a pending cassette), then SIGKILL after the timeout."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT_S)
        if self._own_dir:
            with contextlib.suppress(OSError):
                shutil.rmtree(self.workdir)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> MitmProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _pause(seconds: float) -> None:
    """Block briefly while the child starts (callers in an event loop use a worker thread)."""
    threading.Event().wait(seconds)
