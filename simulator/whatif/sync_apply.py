"""Moving what a sync read into a `DecisionEngine`, exactly as the live adapter's
`Synchronizer` does (API list, per-API policies with versions, contracts snapshot or changes)."""

from __future__ import annotations

from reference_adapter import DecisionEngine
from simulator.whatif.controlplane import Snapshot


def apply_policies(engine: DecisionEngine, snap: Snapshot) -> list[str]:
    """Install a policies snapshot; returns the ids of APIs that are new to the engine."""
    ids = [str(a["apiId"]) for a in snap.apis]
    new = engine.set_apis(ids, info={str(a["apiId"]): a for a in snap.apis})
    for api_id, (version, policies) in snap.policies.items():
        state = engine.api(api_id)
        if state is not None and state.policies_loaded and state.policies_version == version:
            continue  # 304 Not Modified
        engine.load_policies(api_id, policies, version)
    return new


def apply_contracts(engine: DecisionEngine, snap: Snapshot) -> None:
    """Install contracts pages: a full snapshot replaces, changes are applied on top."""
    for api_id, (items, cursor, full) in snap.contracts.items():
        if engine.api(api_id) is None:
            continue
        if full:
            engine.load_contracts(api_id, items, cursor)
        else:
            engine.apply_contract_changes(api_id, items, cursor)


def cursors(engine: DecisionEngine) -> dict[str, str | None]:
    """``updatedSince`` per known API (None when its contracts were never loaded)."""
    store = engine.contracts
    return {a: (store.cursor(a) if store.loaded(a) else None) for a in engine.api_ids()}
