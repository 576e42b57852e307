"""Loading scenario files: YAML → validated ``Scenario``, with errors that point at
``file:line:column``, name the key path and the value, and say what would be accepted."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from common.yaml_source import (
    Position,
    YamlSyntaxError,
    compose_file,
    load_yaml,
    position_in,
    position_of,
)
from fake_anypoint import ControlPlaneSpec, FaultSpec
from scenarios.features import Feature
from scenarios.identity import identity_problems
from scenarios.model import Scenario
from scenarios.problems import Problem, ScenarioError, dotted, problems_from
from scenarios.steps import AdapterStep, FaultStep, PlatformCallsStep, StateDirStep

SUFFIX = ".scenario.yaml"


@dataclass(frozen=True)
class ScenarioFile:
    """A validated scenario and where it came from (for ``file:line`` in failures)."""

    path: Path
    scenario: Scenario
    step_lines: list[int] = field(default_factory=list)
    finally_lines: list[int] = field(default_factory=list)

    def step_location(self, index: int, *, in_finally: bool = False) -> str:
        lines = self.finally_lines if in_finally else self.step_lines
        line = lines[index] if index < len(lines) else 1
        return f"{self.path}:{line}"


M = TypeVar("M", bound=BaseModel)


def read_model(
    path: Path, root: type[M], *, what: str = "file", hint: str | None = None
) -> tuple[Any, M]:
    """Parse ``path`` as YAML and validate it as ``root``: the raw data and the model, or
    ``ScenarioError`` with every problem positioned (scenarios, profiles, what-if specs)."""
    try:
        data = load_yaml(path)
    except YamlSyntaxError as exc:
        raise ScenarioError(
            [Problem(path, exc.position, "", f"not valid YAML: {exc.problem}")]
        ) from None
    except OSError as exc:
        raise ScenarioError(
            [Problem(path, None, "", f"cannot read the {what}: {exc.strerror}", hint)]
        ) from None
    if not isinstance(data, dict):
        keys = ", ".join(list(root.model_fields)[:3])
        raise ScenarioError(
            [
                Problem(
                    path,
                    Position(1, 1),
                    "",
                    f"expected a mapping at the top ({keys}, ...), got {_kind(data)}",
                )
            ]
        )
    try:
        return data, root.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(problems_from(path, data, exc, root=root)) from None


def load_scenario(path: Path) -> ScenarioFile:
    """Read and validate one scenario file; raises ``ScenarioError`` for any problem."""
    path = Path(path)
    _, scenario = read_model(path, Scenario)
    problems = _cross_checks(path, scenario)
    if problems:
        raise ScenarioError(problems)
    root = compose_file(path)
    return ScenarioFile(
        path,
        scenario,
        [_line(root, ("steps", i)) for i in range(len(scenario.steps))],
        [_line(root, ("finally", i)) for i in range(len(scenario.finally_steps))],
    )


def lenient_summary(path: Path) -> tuple[str, list[str]]:
    """The ``description`` and the known ``features`` a scenario file names, even if the rest
    of it is invalid (to file a case that did not run in reports); blank when unreadable."""
    try:
        data = load_yaml(path)
    except (OSError, YamlSyntaxError):
        return "", []
    if not isinstance(data, dict):
        return "", []
    description = data.get("description")
    names = data.get("features")
    known = {f.value for f in Feature}
    features = (
        [n for n in names if isinstance(n, str) and n in known] if isinstance(names, list) else []
    )
    return (description if isinstance(description, str) else ""), features


def _line(root: yaml.Node | None, loc: tuple[str | int, ...]) -> int:
    pos = position_in(root, loc)
    return pos.line if pos else 1


def _cross_checks(path: Path, scenario: Scenario) -> list[Problem]:
    problems: list[Problem] = []
    expected = path.name.removesuffix(SUFFIX)
    if path.name.endswith(SUFFIX) and scenario.name != expected:
        problems.append(
            Problem(
                path,
                position_of(path, ("name",)),
                "name",
                f"must equal the file name stem {expected!r}, got {scenario.name!r}",
                f"rename the file or set name: {expected}",
            )
        )
    problems.extend(seed_problems(path, scenario.control_plane))
    problems.extend(window_problems(path, scenario))
    problems.extend(raw_encoding_problems(path, scenario))
    problems.extend(state_dir_problems(path, scenario))
    sections = {"steps": list(scenario.steps), "finally": list(scenario.finally_steps)}
    for loc, message in identity_problems(scenario.identity_provider, sections):
        problems.append(Problem(path, position_of(path, loc), dotted(loc), message))
    return problems


def raw_encoding_problems(path: Path, scenario: Scenario) -> list[Problem]:
    """Envoy's raw encodings and the features that declare them go together: an adapter that
    does not claim the feature is never sent the encoding. ``pack_as_bytes`` is gRPC only."""
    problems: list[Problem] = []
    body = scenario.data_plane.with_request_body
    packed = body is not None and body.pack_as_bytes
    pairs = (
        (
            scenario.data_plane.encode_raw_headers,
            Feature.ENVOY_RAW_HEADERS,
            ("data_plane", "encode_raw_headers"),
            "sends the headers as header_map",
        ),
        (
            packed,
            Feature.ENVOY_RAW_BODY,
            ("data_plane", "with_request_body", "pack_as_bytes"),
            "sends the body as raw_body",
        ),
    )
    for on, feature, loc, what in pairs:
        setting = dotted(loc)
        if on and feature not in scenario.features:
            problems.append(
                Problem(
                    path,
                    position_of(path, loc),
                    setting,
                    f"true {what}, which only adapters claiming {feature} read",
                    f"add {feature} to features",
                )
            )
        elif feature in scenario.features and not on:
            problems.append(
                Problem(
                    path,
                    position_of(path, ("features",)),
                    "features",
                    f"{feature} is declared but {setting} is not true",
                    f"set {setting}: true, or drop {feature} from features",
                )
            )
    if packed and "http" in scenario.transports:
        loc = ("data_plane", "with_request_body", "pack_as_bytes")
        problems.append(
            Problem(
                path,
                position_of(path, loc),
                dotted(loc),
                "true has no effect in HTTP service mode (Envoy sends the body as it came), "
                f"but the scenario applies to {'/'.join(scenario.transports)}",
                "add transports: [grpc]",
            )
        )
    return problems


def state_dir_problems(path: Path, scenario: Scenario) -> list[Problem]:
    """``state_dir`` steps and starts with a ``port_taken``: only while the adapters are
    stopped (``adapters: stop`` or ``kill`` before, no ``adapters: start`` in between; a
    start with a port taken leaves them stopped); ``state_dir`` only in ``state-cache`` cases
    (the only ones with a state directory)."""
    problems: list[Problem] = []
    for key, block in (("steps", scenario.steps), ("finally", scenario.finally_steps)):
        stopped = False
        for i, step in enumerate(block):
            if isinstance(step, AdapterStep) and step.port_taken is not None and not stopped:
                loc = (key, i, "port_taken")
                problems.append(
                    Problem(
                        path,
                        position_of(path, loc),
                        dotted(loc),
                        "a start with a port taken while the adapters may be running",
                        "put `adapters: stop` (or `kill`) before this step",
                    )
                )
            if isinstance(step, AdapterStep):
                stopped = step.adapters != "start" or step.port_taken is not None
            if not isinstance(step, StateDirStep):
                continue
            loc = (key, i, "state_dir")
            if Feature.STATE_CACHE not in scenario.features:
                problems.append(
                    Problem(
                        path,
                        position_of(path, loc),
                        dotted(loc),
                        f"{step.state_dir} needs a state directory, which only state-cache"
                        " cases have",
                        "add state-cache to features",
                    )
                )
            if not stopped:
                problems.append(
                    Problem(
                        path,
                        position_of(path, loc),
                        dotted(loc),
                        f"{step.state_dir} while the adapters may be running: an adapter"
                        " would see its directory change under it",
                        "put `adapters: stop` (or `kill`) before this step (and `adapters: start`"
                        " after)",
                    )
                )
    return problems


def window_problems(path: Path, scenario: Scenario) -> list[Problem]:
    """``platform_calls`` windows that name no earlier step (``between``, ``since``) or no
    fault given before them (``during``)."""
    problems: list[Problem] = []
    steps: list[str] = []
    faults = [f.name for f in scenario.faults if f.name]
    parts = [("steps", scenario.steps), ("finally", scenario.finally_steps)]
    for key, block in parts:
        for i, step in enumerate(block):
            if isinstance(step, PlatformCallsStep):
                problems.extend(_window_names(path, (key, i), step, steps, faults))
            if step.name:
                steps.append(step.name)
            if isinstance(step, FaultStep) and isinstance(step.fault, FaultSpec):
                faults.append(step.fault.name)
    return problems


def _window_names(
    path: Path,
    at: tuple[str | int, ...],
    step: PlatformCallsStep,
    steps: list[str],
    faults: list[str],
) -> list[Problem]:
    spec = step.platform_calls
    out = []
    if spec.during is not None and spec.during not in faults:
        loc = (*at, "platform_calls", "during")
        known = ", ".join(repr(f) for f in faults if f) or "none"
        out.append(
            Problem(
                path,
                position_of(path, loc),
                dotted(loc),
                f"names no fault given before this step: {spec.during!r} (named faults so far:"
                f" {known})",
                "give the fault a name (fault: {data: contracts, status: 503, name: ...}) in"
                " faults: or an earlier fault step, and use that name here",
            )
        )
    named: list[tuple[tuple[str | int, ...], str]] = [
        (("between", j), name) for j, name in enumerate(spec.between or ())
    ]
    if spec.since is not None:
        named.append((("since",), spec.since))
    for key, name in named:
        if name not in steps:
            loc = (*at, "platform_calls", *key)
            known = ", ".join(repr(s) for s in steps) or "none"
            out.append(
                Problem(
                    path,
                    position_of(path, loc),
                    dotted(loc),
                    f"names no earlier step: {name!r} (named steps so far: {known})",
                    "name the steps that open and close the window (name: ...) and list them"
                    " here, both before this step",
                )
            )
    return out


def seed_problems(
    path: Path, spec: ControlPlaneSpec, at: tuple[str | int, ...] = ("control_plane",)
) -> list[Problem]:
    """The seed's duplicate keys and dangling references, positioned in ``path``."""
    return [
        Problem(path, position_of(path, (*at, *loc)), dotted((*at, *loc)), message)
        for loc, message in spec.problems()
    ]


def _kind(value: Any) -> str:
    return "nothing (an empty file)" if value is None else type(value).__name__
