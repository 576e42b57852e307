"""Loading what-if specs: YAML → validated `WhatIfSpec` with ``file:line`` problems (the
scenario loader's machinery), cross-checks of the keys it names, and sweep expansion."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from common.yaml_source import position_of
from fake_anypoint import dry_run
from scenarios.loader import read_model, seed_problems
from scenarios.problems import Problem, ScenarioError, dotted
from simulator.whatif.spec import WhatIfSpec
from simulator.whatif.timeline import TimelineEvent

SUFFIX = ".whatif.yaml"


@dataclass(frozen=True)
class SweepPoint:
    """One point of a sweep (or the single point of a spec without one)."""

    index: int
    value: Any
    label: str
    spec: WhatIfSpec


@dataclass(frozen=True)
class WhatIfFile:
    """A validated spec, its raw data (for sweeps) and where it came from."""

    path: Path
    spec: WhatIfSpec
    data: dict[str, Any]

    def points(self) -> list[SweepPoint]:
        sweep = self.spec.sweep
        if sweep is None:
            return [SweepPoint(0, None, self.spec.name, self.spec)]
        out = []
        for i, value in enumerate(sweep.values):
            out.append(SweepPoint(i, value, str(value), _at_point(self, i)))
        return out


def load_whatif(path: Path | str) -> WhatIfFile:
    """Read and validate one what-if spec; raises `ScenarioError` listing every problem."""
    path = Path(path)
    data, spec = read_model(path, WhatIfSpec, what="what-if spec")
    problems = cross_check(path, spec)
    file = WhatIfFile(path, spec, data)
    if not problems and spec.sweep is not None:
        problems = _sweep_problems(file)
    if problems:
        raise ScenarioError(problems)
    return file


def _problem(
    path: Path, loc: tuple[str | int, ...], message: str, hint: str | None = None
) -> Problem:
    return Problem(path, position_of(path, loc), dotted(loc), message, hint)


def cross_check(path: Path, spec: WhatIfSpec) -> list[Problem]:
    """What the schema cannot say: the name matches the file, the seed's keys hold, the
    traffic names seeded keys, every change can be made when it comes (checked by making it on
    a scratch control plane), and the process events and times make sense."""
    problems: list[Problem] = []
    stem = path.name.removesuffix(SUFFIX)
    if path.name.endswith(SUFFIX) and spec.name != stem:
        problems.append(
            _problem(
                path,
                ("name",),
                f"must equal the file name stem {stem!r}, got {spec.name!r}",
                f"rename the file or set name: {stem}",
            )
        )
    seeded = seed_problems(path, spec.control_plane)
    problems += seeded
    problems += _traffic_problems(path, spec)
    if not seeded:
        problems += _change_problems(path, spec)
    for i, event in enumerate(spec.timeline):
        problems += _event_problems(path, spec, i, event)
    return problems


def _traffic_problems(path: Path, spec: WhatIfSpec) -> list[Problem]:
    cp = spec.control_plane
    apis, apps = {a.key for a in cp.apis}, {a.key for a in cp.applications}
    problems = []
    for i, client in enumerate(spec.traffic.clients):
        for field, value, known in (
            ("api", client.api, apis),
            ("application", client.application, apps),
        ):
            if value is not None and value not in known:
                problems.append(
                    _problem(
                        path,
                        ("traffic", "clients", i, field),
                        f"{value!r} is not a {field} key of control_plane",
                        f"known {field} keys: {', '.join(sorted(known)) or '(none)'}",
                    )
                )
    return problems


def _change_problems(path: Path, spec: WhatIfSpec) -> list[Problem]:
    """Each change made in time order on a scratch control plane seeded like the spec."""
    timed = sorted(
        ((event.at, i, event) for i, event in enumerate(spec.timeline) if event.change),
        key=lambda item: (item[0], item[1]),
    )
    changes = [event.change for _, _, event in timed if event.change is not None]
    outcomes = dry_run(spec.control_plane, changes, spec.seed)
    return [
        _problem(path, ("timeline", i, event.action), f"this change cannot be made: {why}")
        for (_, i, event), why in zip(timed, outcomes, strict=True)
        if why is not None
    ]


def _event_problems(path: Path, spec: WhatIfSpec, i: int, event: TimelineEvent) -> list[Problem]:
    base: tuple[str | int, ...] = ("timeline", i, event.action)
    payload = event.payload
    problems = []
    if event.action in ("adapter_restart", "remove_replica"):
        existing = spec.adapter.replicas + sum(
            1 for e in spec.timeline[:i] if e.add_replica is not None
        )
        if payload.replica is not None and payload.replica >= existing:
            problems.append(
                _problem(
                    path,
                    (*base, "replica"),
                    f"replica {payload.replica} does not exist: there are {existing} then "
                    f"(adapter.replicas {spec.adapter.replicas} plus add_replica events)",
                    "replicas are numbered from 0",
                )
            )
    elif event.action == "redis_outage" and spec.adapter.quota != "shared":
        problems.append(
            _problem(
                path,
                base,
                f"redis_outage needs a shared quota store: adapter.quota is {spec.adapter.quota!r}",
                "set adapter.quota: shared",
            )
        )
    if event.at >= spec.duration:
        problems.append(
            _problem(
                path,
                ("timeline", i, "at"),
                f"at {event.at}s is not before the end (duration {spec.duration}s)",
            )
        )
    return problems


_INDEX = re.compile(r"\[(\d+)\]")


def setting_path(setting: str) -> list[str | int]:
    """``traffic.clients[0].weight`` or ``traffic.clients.0.weight`` as a key path."""
    parts: list[str | int] = []
    for part in _INDEX.sub(r".\1", setting).split("."):
        if part == "":
            continue
        parts.append(int(part) if part.isdigit() else part)
    return parts


def override(data: dict[str, Any], setting: str, value: Any) -> dict[str, Any]:
    """A deep copy of ``data`` with ``setting`` set to ``value`` (missing mappings are made)."""
    out = copy.deepcopy(data)
    out.pop("sweep", None)
    keys = setting_path(setting)
    node: Any = out
    for key in keys[:-1]:
        if isinstance(key, int):
            if not isinstance(node, list) or key >= len(node):
                raise KeyError(setting)
            node = node[key]
        else:
            if not isinstance(node, dict):
                raise KeyError(setting)
            node = node.setdefault(key, {})
    last = keys[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise KeyError(setting)
        node[last] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise KeyError(setting)
    return out


def _at_point(file: WhatIfFile, index: int) -> WhatIfSpec:
    sweep = file.spec.sweep
    assert sweep is not None
    return WhatIfSpec.model_validate(override(file.data, sweep.setting, sweep.values[index]))


def _sweep_problems(file: WhatIfFile) -> list[Problem]:
    sweep = file.spec.sweep
    assert sweep is not None
    problems: list[Problem] = []
    for i, value in enumerate(sweep.values):
        loc: tuple[str | int, ...] = ("sweep", "values", i)
        try:
            spec = _at_point(file, i)
        except KeyError:
            return [
                _problem(
                    file.path,
                    ("sweep", "setting"),
                    f"{sweep.setting!r} does not name a setting of this file",
                    "use a dotted path such as adapter.contracts_interval",
                )
            ]
        except ValidationError as exc:
            first = exc.errors()[0]
            problems.append(
                _problem(
                    file.path,
                    loc,
                    f"{sweep.setting}={value!r} is invalid: "
                    f"{first['msg'].removeprefix('Value error, ')}",
                )
            )
            continue
        for p in cross_check(file.path, spec):
            problems.append(
                Problem(
                    p.path,
                    position_of(file.path, loc),
                    f"sweep.values[{i}]",
                    f"{sweep.setting}={value!r}: {p.loc}: {p.message}",
                    p.hint,
                )
            )
    return problems
