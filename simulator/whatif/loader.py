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
from scenarios.loader import Problem, ScenarioError, read_model, seed_problems
from simulator.whatif.spec import WhatIfSpec

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
    from scenarios.loader import dotted

    return Problem(path, position_of(path, loc), dotted(loc), message, hint)


def cross_check(path: Path, spec: WhatIfSpec) -> list[Problem]:
    """Keys the spec names must exist in its ``control_plane``; the name must match the file."""
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
    cp = spec.control_plane
    problems.extend(seed_problems(path, cp))
    apis = {a.key: a for a in cp.apis}
    apps = {a.key for a in cp.applications}
    contracts = {(c.application, c.api) for c in cp.contracts}

    def need(
        loc: tuple[str | int, ...], kind: str, value: str, known: set[str] | list[str]
    ) -> None:
        if value not in known:
            problems.append(
                _problem(
                    path,
                    loc,
                    f"{value!r} is not a {kind} key of control_plane",
                    f"known {kind} keys: {', '.join(sorted(known)) or '(none)'}",
                )
            )

    for i, client in enumerate(spec.traffic.clients):
        base: tuple[str | int, ...] = ("traffic", "clients", i)
        need((*base, "api"), "api", client.api, set(apis))
        if client.application is not None:
            need((*base, "application"), "application", client.application, apps)
    for i, event in enumerate(spec.timeline):
        base = ("timeline", i, event.action)
        payload = event.payload
        api: str = getattr(payload, "api", "")
        if api:
            need((*base, "api"), "api", api, set(apis))
            if api not in apis:
                continue
        if event.action in ("revoke_contract", "approve_contract"):
            need((*base, "application"), "application", payload.application, apps)
            if (payload.application, payload.api) not in contracts:
                problems.append(
                    _problem(
                        path,
                        base,
                        f"no contract between {payload.application!r} "
                        f"and {payload.api!r} in control_plane.contracts",
                    )
                )
        elif event.action in ("edit_policy", "remove_policy"):
            keys = [p.key or p.asset_id for p in apis[api].policies]
            keys += [
                e.apply_policy.policy.key or e.apply_policy.policy.asset_id
                for e in spec.timeline[:i]
                if e.apply_policy and e.apply_policy.api == api
            ]
            need((*base, "policy"), "policy", payload.policy, keys)
        elif event.action == "edit_tier":
            need((*base, "tier"), "tier", payload.tier, [t.key for t in apis[api].tiers])
        elif event.action in ("adapter_restart", "remove_replica"):
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
                    "redis_outage needs a shared quota store: adapter.quota is "
                    f"{spec.adapter.quota!r}",
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
