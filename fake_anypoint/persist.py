"""Dump a ``ControlPlaneState`` to a JSON-compatible document and load one back.

``Snapshot`` is the one model of that document: a restore validates the whole of it (types,
finite numbers, references between entities) before anything is replaced, so a restore is
all or nothing. Used by ``snapshot()``/``restore()``, all-or-nothing seeding and the SQLite
store. Tokens keep their remaining lifetime (expiry moves with the clock across a restart).
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict as _deep
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .faults import ActiveFault, FaultSpec
from .model import (
    Api,
    Application,
    Asset,
    AutomatedPolicy,
    ConnectedApp,
    Contract,
    Environment,
    IngestBatch,
    Policy,
    Tier,
    Token,
)
from .parts import Parts, new_parts

if TYPE_CHECKING:
    from .state import ControlPlaneState

FORMAT = 1
MAX_ITEMS = 1_000_000


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class TokenDump(_Doc):
    value: str = Field(min_length=1)
    subject: str
    expires_wall: float


class FaultDump(_Doc):
    name: str = ""
    spec: dict[str, Any]
    start: float
    end: float | None
    fired: int = Field(ge=0)
    from_first_hit: bool = False


class Snapshot(_Doc):
    """The document ``GET /_admin/snapshot`` returns and ``PUT`` accepts."""

    format: Literal[1]
    seed: int
    org_id: str = Field(min_length=1)
    org_name: str
    env_id: str = Field(min_length=1)
    environments: list[Environment] = Field(min_length=1, max_length=MAX_ITEMS)
    connected_app: ConnectedApp
    connected_apps: list[ConnectedApp] = Field(default_factory=list, max_length=10_000)
    user: dict[str, str]
    apis: list[Api] = Field(max_length=MAX_ITEMS)
    policies: list[Policy] = Field(max_length=MAX_ITEMS)
    automated_policies: list[AutomatedPolicy] = Field(default_factory=list, max_length=10_000)
    tiers: list[Tier] = Field(max_length=MAX_ITEMS)
    applications: list[Application] = Field(max_length=MAX_ITEMS)
    contracts: list[Contract] = Field(max_length=MAX_ITEMS)
    published: list[Asset] = Field(default_factory=list, max_length=MAX_ITEMS)
    deleted_assets: list[str] = Field(default_factory=list, max_length=MAX_ITEMS)
    rev: int = Field(ge=0)
    next_ids: dict[Literal["api", "policy", "tier", "application", "contract", "automated"], int]
    ids_rng: tuple[int, list[int], float | None]
    tokens: list[TokenDump] = Field(max_length=MAX_ITEMS)
    faults: list[FaultDump] = Field(max_length=10_000)
    batches: list[IngestBatch] = Field(default_factory=list, max_length=MAX_ITEMS)
    keepalives: list[dict[str, Any]] = Field(max_length=MAX_ITEMS)


def _shallow(obj: Any) -> dict[str, Any]:
    """The entity's own attribute dict (dataclasses without slots): no copy at all."""
    shared: dict[str, Any] = vars(obj)
    return shared


def dump_state(state: ControlPlaneState, *, copy: bool = True) -> dict[str, Any]:
    """The state as a ``Snapshot`` document. ``copy=False`` shares the entities' lists and dicts
    (about ten times faster): only for a caller that serializes the result at once."""
    asdict = _deep if copy else _shallow
    parts = state.parts
    now, wall = state.clock.now(), state.clock.wall()
    version, internal, gauss = parts.core.ids.getstate()
    records = parts.records
    return {
        "format": FORMAT,
        "seed": state.seed_value,
        "org_id": parts.org.org_id,
        "org_name": parts.org.org_name,
        "env_id": parts.org.env_id,
        "environments": [asdict(e) for e in parts.org.environments.values()],
        "connected_app": asdict(parts.org.connected_app),
        "connected_apps": [asdict(a) for a in parts.org.connected_apps.values()],
        "user": dict(parts.org.user),
        "apis": [asdict(a) for a in parts.catalog.apis.values()],
        "policies": [asdict(p) for p in parts.catalog.policies.values()],
        "automated_policies": [asdict(p) for p in parts.catalog.automated.values()],
        "tiers": [asdict(t) for t in parts.deals.tiers.values()],
        "applications": [asdict(a) for a in parts.deals.applications.values()],
        "contracts": [asdict(c) for c in parts.deals.contracts.values()],
        "published": [asdict(a) for a in parts.exchange.published.values()],
        "deleted_assets": sorted(parts.exchange.deleted),
        "rev": parts.core.rev,
        "next_ids": dict(parts.core.next_ids),
        "ids_rng": [version, list(internal), gauss],
        "tokens": [
            {"value": t.value, "subject": t.subject, "expires_wall": wall + (t.expires_at - now)}
            for t in records.tokens.values()
        ],
        "faults": [f.to_dict() for f in records.active_faults],
        "batches": [asdict(b) for b in records.batches],
        "keepalives": list(records.keepalive_log),
    }


def parse_snapshot(data: Any) -> Snapshot:
    """The whole document checked: ValueError naming the first problem's field."""
    if isinstance(data, dict) and data.get("format") != FORMAT:
        raise ValueError(f"snapshot.format: expected {FORMAT} (a document from snapshot())")
    try:
        raw = data if isinstance(data, (str, bytes)) else json.dumps(data, allow_nan=False)
        snap = Snapshot.model_validate_json(raw)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"snapshot: not a snapshot() document: {_first_error(exc)}") from None
    _check_references(snap)
    return snap


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        return f"{where}: {err['msg']}{more}"
    return str(exc)


def _check_references(snap: Snapshot) -> None:
    envs = {e.id for e in snap.environments}
    apis = {a.id for a in snap.apis}
    tiers = {t.id for t in snap.tiers}
    apps = {a.id for a in snap.applications}
    problems = [] if snap.env_id in envs else [f"env_id: {snap.env_id!r} is not an environment"]
    problems += [
        f"apis[{i}].env_id: unknown" for i, a in enumerate(snap.apis) if a.env_id not in envs
    ]
    owners: dict[str, list[int]] = {
        "policies": [p.api_id for p in snap.policies],
        "tiers": [t.api_id for t in snap.tiers],
        "contracts": [c.api_id for c in snap.contracts],
    }
    for kind, api_ids in owners.items():
        problems += [
            f"{kind}[{i}].api_id: unknown API" for i, a in enumerate(api_ids) if a not in apis
        ]
    for i, c in enumerate(snap.contracts):
        if c.application_id not in apps and not c.deleted:
            problems.append(f"contracts[{i}].application_id: unknown application")
        if any(t is not None and t not in tiers for t in (c.tier_id, c.requested_tier_id)):
            problems.append(f"contracts[{i}].tier_id: unknown tier")
    version, internal, _ = snap.ids_rng
    if version != 3 or len(internal) != 625:
        problems.append("ids_rng: not a random generator state from snapshot()")
    if problems:
        raise ValueError(f"snapshot: {problems[0]}")


def load_parts(state: ControlPlaneState, data: Any) -> Parts:
    """New parts holding a ``dump_state`` document (validated whole first); the caller installs
    them, so nothing changes when the document is refused."""
    snap = data if isinstance(data, Snapshot) else parse_snapshot(data)
    now, wall = state.clock.now(), state.clock.wall()
    parts = new_parts(state.clock, snap.seed, state.hooks, state.token_ttl_s)
    org, catalog, deals, records = parts.org, parts.catalog, parts.deals, parts.records
    org.org_id, org.org_name, org.env_id = snap.org_id, snap.org_name, snap.env_id
    org.environments = {e.id: e for e in snap.environments}
    org.connected_app = snap.connected_app
    org.connected_apps = {a.client_id: a for a in snap.connected_apps}
    org.user = dict(snap.user)
    catalog.apis = {a.id: a for a in snap.apis}
    catalog.policies = {p.id: p for p in snap.policies}
    catalog.automated = {p.id: p for p in snap.automated_policies}
    deals.tiers = {t.id: t for t in snap.tiers}
    deals.applications = {a.id: a for a in snap.applications}
    deals.contracts = {c.id: c for c in snap.contracts}
    parts.exchange.published = {f"{a.group_id}/{a.asset_id}/{a.version}": a for a in snap.published}
    parts.exchange.deleted = set(snap.deleted_assets)
    parts.core.rev = snap.rev
    parts.core.next_ids.update({str(k): v for k, v in snap.next_ids.items()})
    version, internal, gauss = snap.ids_rng
    rng = random.Random()
    try:
        rng.setstate((version, tuple(internal), gauss))
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"snapshot: ids_rng: {exc}") from None
    parts.core.ids = rng
    records.tokens = {
        t.value: Token(t.value, t.subject, now + (t.expires_wall - wall)) for t in snap.tokens
    }
    records.active_faults = [_fault(i, f) for i, f in enumerate(snap.faults)]
    records.batches = list(snap.batches)
    records.batch_index = {b.batch_id: b for b in records.batches}
    records.keepalive_log = list(snap.keepalives)
    for api in catalog.apis.values():
        if api.last_active_wall is not None:
            api.last_active_at = now - (wall - api.last_active_wall)
    return parts


def _fault(index: int, dump: FaultDump) -> ActiveFault:
    try:
        spec = FaultSpec.model_validate(dump.spec)
    except ValidationError as exc:
        raise ValueError(f"snapshot: faults[{index}].spec: {_first_error(exc)}") from None
    return ActiveFault(spec, dump.start, dump.end, dump.fired, dump.from_first_hit)
