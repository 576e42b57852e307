"""Static checks beyond the schema: features exist, variables and keys refer to seeded objects
(APIs, policies, tiers, applications, contracts), sync names are known. Used by
``asmkit validate`` and before a run."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from common.yaml_source import load_yaml, position_of
from conformance.variables import faker_providers, references
from fake_anypoint import (
    AnyChange,
    ApplyPolicy,
    CreateApplication,
    CreateContract,
    DiscoverService,
    dry_run,
)
from live.identity_provider import IDP_VARIABLES
from live.ldap_directory import DIRECTORY_VARIABLES
from scenarios.loader import load_scenario
from scenarios.model import Scenario
from scenarios.problems import Problem, dotted
from scenarios.steps import ControlPlaneStep


def is_profile(path: Path) -> bool:
    """Adapter profiles are YAML files with ``implementation`` and ``adapter`` at the top."""
    if path.name.endswith((".scenario.yaml", ".whatif.yaml")):
        return False
    try:
        data = load_yaml(path)
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "implementation" in data and "adapter" in data


def known_names(scenario: Scenario) -> dict[str, set[str]]:
    cp = scenario.control_plane
    names: dict[str, set[str]] = {
        "apis": {a.key for a in cp.apis},
        "applications": {a.key for a in cp.applications},
        "policies": {f"{a.key}/{p.key or p.asset_id}" for a in cp.apis for p in a.policies},
        "tiers": {f"{a.key}/{t.key}" for a in cp.apis for t in a.tiers},
        "contracts": {f"{c.application}/{c.api}" for c in cp.contracts},
        "captures": set(),
    }
    if scenario.identity_provider is not None:
        names["identity_provider"] = set(IDP_VARIABLES)
        names["jwt"] = set(scenario.identity_provider.tokens)
    if scenario.directory is not None:
        names["directory"] = set(DIRECTORY_VARIABLES)
    for step in [*scenario.steps, *scenario.finally_steps]:
        change = getattr(step, "control_plane", None)
        if change is None:
            for inner in getattr(getattr(step, "eventually", None), "steps", [step]):
                names["captures"].update(getattr(inner, "capture", {}) or {})
            continue
        made = change.change
        if isinstance(made, CreateApplication):
            names["applications"].add(made.key)
        elif isinstance(made, CreateContract):
            names["contracts"].add(made.ref)
        elif isinstance(made, ApplyPolicy):
            names["policies"].add(f"{made.api}/{made.name}")
        elif isinstance(made, DiscoverService):
            names["apis"].add(made.api)
    return names


def _check_ref(reference: str, names: dict[str, set[str]]) -> str | None:
    head, _, rest = reference.partition(".")
    if head == "faker":
        if rest in faker_providers():
            return None
        close = difflib.get_close_matches(rest, sorted(faker_providers()), n=1)
        guess = f" (did you mean {close[0]!r}?)" if close else ""
        return (
            f"${{{reference}}}: Faker has no provider {rest!r}{guess}; e.g. uuid4, user_agent,"
            " ipv4, name, email"
        )
    if head == "run":
        return None
    if head in ("jwt", "identity_provider") and head not in names:
        return f"${{{reference}}}: the scenario has no identity_provider; add one with its keys"
    if head == "directory" and head not in names:
        return f"${{{reference}}}: the scenario has no directory; add one with its base and entries"
    if head in ("jwt", "identity_provider", "directory"):
        if rest in names[head]:
            return None
        what = "token" if head == "jwt" else "value"
        known = ", ".join(sorted(names[head])) or "none"
        return f"${{{reference}}}: no {what} named {rest!r}; known: {known}"
    if head not in names:
        return (
            f"${{{reference}}}: unknown namespace {head!r}; use one of {', '.join(sorted(names))}"
        )
    key = rest
    for suffix in (".api_id", ".id", ".client_id", ".client_secret", ".name", ".service"):
        if rest.endswith(suffix):
            key = rest[: -len(suffix)]
            break
    if key not in names[head]:
        known = ", ".join(sorted(names[head])) or "none"
        return f"${{{reference}}}: no {head} named {key!r}; known: {known}"
    return None


def _misplaced(loc: tuple[str | int, ...], reference: str) -> str | None:
    """References that exist but cannot be filled where they stand: the seed is made before
    any object exists (only the identity provider's and the directory's values), and a token's
    claims cannot hold a token."""
    head = reference.partition(".")[0]
    if loc[:1] == ("control_plane",) and head not in ("identity_provider", "directory"):
        return (
            f"${{{reference}}}: the control-plane seed can only use ${{identity_provider...}}"
            " and ${directory...}; set other values in a control_plane step"
        )
    if loc[:1] == ("directory",):
        return f"${{{reference}}}: the directory is made before any variable exists; write it out"
    if loc[:2] == ("identity_provider", "tokens") and head == "jwt":
        return f"${{{reference}}}: a token's claims cannot hold another token"
    return None


def _walk_refs(value: Any, loc: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...], str]]:
    found: list[tuple[tuple[str | int, ...], str]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            found.extend(_walk_refs(v, (*loc, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.extend(_walk_refs(v, (*loc, i)))
    else:
        found.extend((loc, r) for r in references(value))
    return found


def check_scenario_file(path: Path) -> list[Problem]:
    """Every cross-reference problem in a scenario file (schema problems raise ScenarioError)."""
    source = load_scenario(path)
    scenario = source.scenario
    problems: list[Problem] = []
    names = known_names(scenario)
    data = load_yaml(path)
    for loc, reference in _walk_refs(data, ()):
        message = _check_ref(reference, names) or _misplaced(loc, reference)
        if message:
            problems.append(Problem(path, position_of(path, loc), dotted(loc), message))
    for base, step in _request_steps(data):
        for action in ("request", "api_instance"):
            if not (isinstance(step, dict) and isinstance(step.get(action), dict)):
                continue
            api = step[action].get("api")
            if api is not None and api not in names["apis"]:
                loc = (*base, action, "api")
                problems.append(
                    Problem(
                        path,
                        position_of(path, loc),
                        dotted(loc),
                        f"unknown API {api!r}",
                        f"seeded APIs: {', '.join(sorted(names['apis'])) or 'none'}",
                    )
                )
    problems.extend(_change_problems(path, scenario))
    return problems


def _request_steps(data: Any) -> list[tuple[tuple[str | int, ...], Any]]:
    """Every step that may send a request, with its loc: top-level and ``finally`` steps and
    the steps inside ``eventually`` blocks."""
    found: list[tuple[tuple[str | int, ...], Any]] = []
    for section in ("steps", "finally"):
        for i, step in enumerate(data.get(section) or []):
            found.append(((section, i), step))
            inner = step.get("eventually") if isinstance(step, dict) else None
            if isinstance(inner, dict):
                for j, nested in enumerate(inner.get("steps") or []):
                    found.append(((section, i, "eventually", "steps", j), nested))
    return found


def _change_problems(path: Path, scenario: Scenario) -> list[Problem]:
    """Control-plane changes that cannot be made when their step comes: each is made, in step
    order, on a scratch control plane seeded like the scenario (the code that makes it at run
    time; a change whose fields hold ${...} variables is left to the run)."""
    located: list[tuple[tuple[str | int, ...], AnyChange]] = []
    for section, steps in (("steps", scenario.steps), ("finally", scenario.finally_steps)):
        for i, step in enumerate(steps):
            if isinstance(step, ControlPlaneStep):
                change = step.control_plane.change
                if not references(change.model_dump(mode="json")):
                    located.append(((section, i, "control_plane", step.control_plane.kind), change))
    outcomes = dry_run(scenario.control_plane, [c for _, c in located], scenario.seed)
    return [
        Problem(path, position_of(path, loc), dotted(loc), f"this change cannot be made: {why}")
        for (loc, _), why in zip(located, outcomes, strict=True)
        if why is not None
    ]
