"""Moving what a virtual sync read (a `Snapshot`) into a `DecisionEngine` with the reference
adapter's own sync-apply functions (`reference_adapter.sync_apply`), exactly as its live
`Synchronizer` applies what it fetched over HTTP."""

from __future__ import annotations

from reference_adapter import DecisionEngine
from reference_adapter.sync_apply import (
    contract_cursors,
    install_api_list,
    install_contracts,
    install_policies,
)
from simulator.whatif.controlplane import Snapshot


def apply_policies(engine: DecisionEngine, snap: Snapshot) -> list[str]:
    """Install a policies snapshot; returns the ids of APIs that are new to the engine."""
    new = install_api_list(engine, snap.apis)
    for api_id, (version, policies) in snap.policies.items():
        install_policies(engine, api_id, policies, version)
    return new


def apply_contracts(engine: DecisionEngine, snap: Snapshot) -> None:
    """Install contracts pages: a full snapshot replaces, changes are applied on top."""
    for api_id, (items, cursor, full) in snap.contracts.items():
        install_contracts(engine, api_id, items, cursor, full)


cursors = contract_cursors
"""``updatedSince`` per known API (None when its contracts were never loaded)."""
