"""Filling ``${<namespace>.<name>}`` into a control-plane seed before it is seeded: the seed is
made before any other variable exists, so the services started ahead of it (a scenario's
identity provider, its LDAP directory) are the only values it may name."""

from __future__ import annotations

import json
import re

from fake_anypoint import ControlPlaneSpec


def fill_seed(
    spec: ControlPlaneSpec,
    namespace: str,
    values: dict[str, str] | None,
    missing: type[ValueError],
    owner: str,
) -> ControlPlaneSpec:
    """``spec`` with every ``${<namespace>.<name>}`` replaced by ``values[name]`` (``spec``
    itself when it names none). ``missing`` is raised, naming the fix, when ``values`` is None
    (the scenario has no ``owner``) or lacks a name."""
    reference = re.compile(r"\$\{\s*" + re.escape(namespace) + r"\.([a-z_]+)\s*\}")
    text = json.dumps(spec.model_dump(mode="json", by_alias=True, exclude_unset=True))
    if not reference.search(text):
        return spec
    if values is None:
        raise missing(f"control_plane names ${{{namespace}...}} but the scenario has no {owner}")
    known = values

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in known:
            raise missing(f"${{{namespace}.{name}}} names nothing; known: {', '.join(known)}")
        return json.dumps(known[name])[1:-1]

    return ControlPlaneSpec.model_validate(json.loads(reference.sub(value, text)))
