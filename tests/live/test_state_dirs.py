"""``{state_dir}``: each replica gets a private directory that outlives its restarts (so an
adapter's on-disk cache can be tested), and the kit removes it when the replicas close."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path
from typing import Any

from live.launch import render
from live.profile import AdapterLaunch, AdapterProfile, Implementation
from live.replicas import ReplicaSet
from simulator import DataPlane


class Remembers:
    """An in-process adapter that keeps the ``{state_dir}`` it was given."""

    started: list[Remembers] = []

    def __init__(self, settings: dict[str, Any]) -> None:
        self.state_dir = settings["state_dir"]
        self.grpc_port = 1
        self.http_port = None

    async def start(self) -> None:
        Remembers.started.append(self)

    async def stop(self) -> None:
        return None


def factory(settings: dict[str, Any]) -> Remembers:
    return Remembers(settings)


class NoPlane:
    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


def replica_set(state_dirs: bool) -> ReplicaSet:
    profile = AdapterProfile(
        implementation=Implementation(organization="t", project="t", version="0"),
        adapter=AdapterLaunch(
            in_process=f"{__name__}:factory", settings={"state_dir": "{state_dir}"}
        ),
    )
    no_plane: Any = NoPlane()

    def plane_for(port: int) -> DataPlane:
        plane: DataPlane = no_plane
        return plane

    return ReplicaSet(
        profile,
        lambda i: {"replica": i},
        plane_for,
        name="t",
        log_dir=None,
        shared=None,
        state_dirs=state_dirs,
    )


def test_each_replica_keeps_its_own_directory_across_restarts() -> None:
    asyncio.run(_restarts())


async def _restarts() -> None:
    Remembers.started.clear()
    replicas = replica_set(state_dirs=True)
    await replicas.add()
    await replicas.add()
    first, second = (Path(a.state_dir) for a in Remembers.started)
    assert first != second and first.is_dir() and second.is_dir()
    assert stat.S_IMODE(first.stat().st_mode) == 0o700  # an adapter may keep contracts there
    (first / "cache.json").write_text("{}")
    await replicas.stop(0, kill=True)
    await replicas.start(0)
    assert Path(Remembers.started[-1].state_dir) == first
    assert (first / "cache.json").read_text() == "{}"
    await replicas.close()
    assert not first.exists() and not second.exists()


def test_without_state_dirs_the_placeholder_is_null() -> None:
    asyncio.run(_without())


async def _without() -> None:
    Remembers.started.clear()
    replicas = replica_set(state_dirs=False)
    await replicas.add()
    assert Remembers.started[0].state_dir is None
    await replicas.close()


def test_a_null_placeholder_inside_a_string_reads_none() -> None:
    """``--cache-dir={state_dir}`` outside a state-cache case: ``none``, which the reference
    adapter (and the docs) read as "off"; a whole-value placeholder stays null."""
    variables = {"state_dir": None, "port": 7}
    assert render(["--cache-dir={state_dir}", "{state_dir}", "{port}"], variables) == [
        "--cache-dir=none",
        None,
        7,
    ]
