"""`ReplicaSet`: the adapter replicas of a live stack, each behind its own data plane, and what
chaos does to them: stop (SIGTERM) or kill (SIGKILL), start again on the same port, add a
replica, remove one from the routing. Each replica may have a private state directory that
outlives its restarts (``{state_dir}``), removed when the set closes."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from live.launch import (
    AdapterError,
    AdapterNetwork,
    RunningAdapter,
    bindable,
    free_port,
    port_held,
    start_adapter,
)
from live.profile import AdapterProfile
from simulator import DataPlane

VariablesFor = Callable[[int], dict[str, Any]]
"""The profile's placeholders for replica ``i`` (fresh ports for commands)."""
PlaneFor = Callable[[int], DataPlane]
"""A data plane in front of an adapter listening on ``port``."""
_PORTS = ("grpc_port", "http_port", "metrics_port")


@dataclass
class Member:
    """One replica: its placeholders (ports stay the same across restarts), the running
    adapter (None while stopped), its data plane, and whether it takes traffic."""

    index: int
    variables: dict[str, Any]
    plane: DataPlane
    adapter: RunningAdapter | None = None
    active: bool = True


@dataclass(frozen=True)
class StartRefusal:
    """A start with a port taken (`ReplicaSet.start_refused`): the adapter's error, and what
    it did wrong (empty: it refused cleanly)."""

    said: str
    wrong: list[str]


class ReplicaSet:
    """Starts, stops and adds replicas as the profile says. ``shared`` is passed to in-process
    factories (replicas in this process share clusterizable counters through it).
    ``state_dirs``: hand each replica a fresh private directory as ``{state_dir}``, the same
    across its restarts (without it, None)."""

    def __init__(
        self,
        profile: AdapterProfile,
        variables_for: VariablesFor,
        plane_for: PlaneFor,
        *,
        name: str,
        log_dir: Path | None,
        shared: dict[str, Any] | None,
        network: AdapterNetwork | None = None,
        state_dirs: bool = False,
    ) -> None:
        self.profile = profile
        self.variables_for = variables_for
        self.plane_for = plane_for
        self.name = name
        self.log_dir = log_dir
        self.shared = shared
        self.network = network
        """Where command adapters run (e.g. behind the proxy, in a namespace)."""
        self.members: list[Member] = []
        self.starts = 0
        self.state_dirs = state_dirs
        self._state_root: Path | None = None

    @property
    def transport(self) -> str:
        return self.profile.ext_authz.transport

    def active(self) -> list[Member]:
        return [m for m in self.members if m.active]

    def _log(self, index: int) -> Path | None:
        if self.log_dir is None:
            return None
        self.starts += 1
        suffix = f".{index + 1}" if index or len(self.members) > 1 else ""
        start = f".start{self.starts}" if self.starts > len(self.members) else ""
        return self.log_dir / f"{self.name}{suffix}{start}.adapter.log"

    async def _start(self, index: int, variables: dict[str, Any]) -> RunningAdapter:
        """Start replica ``index``'s adapter with ``variables`` as the profile says."""
        return await start_adapter(
            self.profile.adapter,
            variables,
            transport=self.transport,
            log_path=self._log(index),
            shared=self.shared,
            network=self.network,
        )

    async def _launch(self, index: int, variables: dict[str, Any]) -> RunningAdapter:
        adapter = await self._start(index, variables)
        # the same port on a restart: the data plane keeps pointing at it
        variables["grpc_port"] = adapter.grpc_port
        variables["http_port"] = adapter.http_port
        return adapter

    def port(self, adapter: RunningAdapter) -> int:
        port = adapter.grpc_port if self.transport == "grpc" else adapter.http_port
        assert port is not None, "the adapter has no port for its transport"
        return port

    async def add(self) -> Member:
        """Start one more replica and its data plane; it takes traffic at once."""
        index = len(self.members)
        variables = self.variables_for(index)
        variables["state_dir"] = self._state_dir(index)
        adapter = await self._launch(index, variables)
        try:
            plane = self.plane_for(self.port(adapter))
            await plane.start()
        except BaseException:
            await adapter.stop()
            raise
        member = Member(index, variables, plane, adapter)
        self.members.append(member)
        return member

    def _state_dir(self, index: int) -> str | None:
        """A new empty directory only this replica uses (mode 0700: an adapter may keep its
        contracts there), or None."""
        if not self.state_dirs:
            return None
        if self._state_root is None:
            self._state_root = Path(tempfile.mkdtemp(prefix="asmkit-state-"))
        path = self._state_root / f"replica-{index}"
        path.mkdir(mode=0o700)
        return str(path)

    async def stop(self, index: int, *, kill: bool, within: float | None = None) -> bool:
        """SIGKILL (``kill``: nothing flushed) or SIGTERM (a clean stop, killed if it takes
        longer than ``within``) one replica; False when a clean stop had to be killed. Its data
        plane stays and answers Envoy's ``status_on_error`` meanwhile."""
        member = self.members[index]
        if member.adapter is None:
            return True
        adapter, member.adapter = member.adapter, None
        if kill:
            await adapter.kill()
            return True
        return await adapter.stop(within)

    async def start(self, index: int) -> None:
        """Start a stopped replica again, fresh, on the same port."""
        member = self.members[index]
        if member.adapter is None:
            member.adapter = await self._launch(index, member.variables)

    async def start_refused(self, index: int, taken: str) -> StartRefusal:
        """Start a stopped replica while the kit holds one of its ports (``ext_authz``: its
        transport's, or ``metrics``), every port it is handed a fixed one; it stays stopped.
        What the adapter said, and what went wrong (it started anyway, it kept running without
        the port, it left another port bound): nothing when it refused cleanly."""
        member = self.members[index]
        variables = dict(member.variables)
        if not variables.get("metrics_port"):
            variables["metrics_port"] = free_port()
        key = f"{self.transport}_port" if taken == "ext_authz" else "metrics_port"
        port = variables[key]
        others = [variables[k] for k in _PORTS if k != key and variables.get(k)]
        with port_held(port):
            try:
                adapter = await self._start(index, variables)
            except AdapterError as exc:
                if exc.still_running:
                    wrong = f"it kept running without 127.0.0.1:{port} ({taken}), never exited"
                    return StartRefusal(str(exc), [wrong])
                held = [p for p in others if not bindable(p)]
                return StartRefusal(
                    str(exc), [f"after its failed start it still holds 127.0.0.1:{p}" for p in held]
                )
        await adapter.stop()
        return StartRefusal("", [f"it started although 127.0.0.1:{port} ({taken}) was taken"])

    async def remove(self, index: int) -> None:
        """Take a replica out of the routing, then stop it cleanly (a scale-down)."""
        member = self.members[index]
        member.active = False
        await self.stop(index, kill=False)

    async def close(self) -> None:
        """Stop every adapter (cleanly: their final flush still lands), then the planes."""
        for member in self.members:
            if member.adapter is not None:
                with contextlib.suppress(Exception):
                    await member.adapter.stop()
                member.adapter = None
        for member in self.members:
            with contextlib.suppress(Exception):
                await member.plane.close()
        if self._state_root is not None:
            shutil.rmtree(self._state_root, ignore_errors=True)
            self._state_root = None
