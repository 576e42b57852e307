"""Dump a ``ControlPlaneState`` to a JSON-compatible dict and load it back.

Used by ``snapshot()``/``restore()``, all-or-nothing seeding and the SQLite store. Tokens keep
their remaining lifetime (expiry moves with the clock across a restart).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from .faults import ActiveFault, FaultSpec
from .model import (
    Api,
    Application,
    Asset,
    ConnectedApp,
    Contract,
    Environment,
    IngestBatch,
    Policy,
    Tier,
    Token,
)

if TYPE_CHECKING:
    from .state import ControlPlaneState

FORMAT = 1


def dump_state(state: ControlPlaneState) -> dict[str, Any]:
    now, wall = state.clock.now(), state.clock.wall()
    return {
        "format": FORMAT,
        "seed": state.seed_value,
        "org_id": state.org_id,
        "org_name": state.org_name,
        "env_id": state.env_id,
        "environments": [asdict(e) for e in state.environments.values()],
        "connected_app": asdict(state.connected_app),
        "user": dict(state.user),
        "apis": [asdict(a) for a in state.apis.values()],
        "policies": [asdict(p) for p in state.policies.values()],
        "tiers": [asdict(t) for t in state.tiers.values()],
        "applications": [asdict(a) for a in state.applications.values()],
        "contracts": [asdict(c) for c in state.contracts.values()],
        "published": [asdict(a) for a in state.published.values()],
        "rev": state.rev,
        "next_ids": dict(state.next_ids),
        "ids_rng": _rng_state(state),
        "tokens": [
            {"value": t.value, "subject": t.subject, "expires_wall": wall + (t.expires_at - now)}
            for t in state._tokens.values()
        ],
        "faults": [f.to_dict() for f in state._faults],
        "batches": [asdict(b) for b in state._batches],
        "keepalives": list(state._keepalives),
    }


def _rng_state(state: ControlPlaneState) -> list[Any]:
    version, internal, gauss = state._ids.getstate()
    return [version, list(internal), gauss]


def load_state(state: ControlPlaneState, data: dict[str, Any]) -> None:
    """Replace ``state``'s contents with ``data`` (a ``dump_state`` result)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"snapshot: expected a dict with format {FORMAT} (from snapshot())")
    now, wall = state.clock.now(), state.clock.wall()
    state.seed_value = data["seed"]
    state.org_id = data["org_id"]
    state.org_name = data["org_name"]
    state.env_id = data["env_id"]
    state.environments = {e["id"]: Environment(**e) for e in data["environments"]}
    state.connected_app = ConnectedApp(**data["connected_app"])
    state.user = dict(data["user"])
    state.apis = {a["id"]: Api(**a) for a in data["apis"]}
    state.policies = {p["id"]: Policy(**p) for p in data["policies"]}
    state.tiers = {t["id"]: Tier(**t) for t in data["tiers"]}
    state.applications = {a["id"]: Application(**a) for a in data["applications"]}
    state.contracts = {c["id"]: Contract(**c) for c in data["contracts"]}
    assets = [Asset(**a) for a in data.get("published", [])]
    state.published = {f"{a.group_id}/{a.asset_id}/{a.version}": a for a in assets}
    state.rev = data["rev"]
    state.next_ids = dict(data["next_ids"])
    version, internal, gauss = data["ids_rng"]
    state._ids.setstate((version, tuple(internal), gauss))
    state._tokens = {
        t["value"]: Token(t["value"], t["subject"], now + (t["expires_wall"] - wall))
        for t in data["tokens"]
    }
    state._faults = [
        ActiveFault(
            FaultSpec.model_validate(f["spec"]),
            f["start"],
            f["end"],
            f["fired"],
            f.get("from_first_hit", False),
        )
        for f in data["faults"]
    ]
    state._batches = [IngestBatch(**b) for b in data["batches"]]
    state._batch_index = {b.batch_id: b for b in state._batches}
    state._keepalives = list(data["keepalives"])
    for api in state.apis.values():
        if api.last_active_wall is not None:
            api.last_active_at = now - (wall - api.last_active_wall)
