"""Moving what a sync read into a `DecisionEngine`: the API list, an API's policies (unless its
version is the one already loaded: a 304), a contracts page (a full snapshot replaces, changes
apply on top) and the feed cursors to read from. Plain functions of the engine, shared by the
live `Synchronizer` and the what-if engine's replicas and oracle."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from reference_adapter.engine import DecisionEngine


def install_api_list(engine: DecisionEngine, apis: Sequence[Mapping[str, Any]]) -> list[str]:
    """Declare the APIs the sync listed (``apiId`` each, the rest kept as API info); returns
    the ids that are new to the engine."""
    listed = [a for a in apis if a.get("apiId") is not None]
    ids = [str(a["apiId"]) for a in listed]
    return engine.set_apis(ids, info={str(a["apiId"]): a for a in listed})


def loaded_policies_version(engine: DecisionEngine, api_id: str) -> str | None:
    """The version of the policies the engine enforces for ``api_id`` (the ETag to send), or
    None when none were loaded yet."""
    state = engine.api(api_id)
    return state.policies_version if state is not None and state.policies_loaded else None


def install_policies(
    engine: DecisionEngine, api_id: str, policies: Sequence[Mapping[str, Any]], version: str | None
) -> str | None:
    """Install an API's policies unless ``version`` is already loaded (Not Modified). Returns
    the configuration error that keeps the API at 503, if any."""
    if version is not None and loaded_policies_version(engine, api_id) == version:
        return None
    return engine.load_policies(api_id, policies, version)


def install_contracts(
    engine: DecisionEngine,
    api_id: str,
    items: Iterable[Mapping[str, Any]],
    cursor: str | None,
    full: bool,
) -> None:
    """Install one API's contracts read from the feed: a full snapshot, or changes since the
    cursor. APIs the engine no longer knows are skipped."""
    if engine.api(api_id) is None:
        return
    if full:
        engine.load_contracts(api_id, items, cursor)
    else:
        engine.apply_contract_changes(api_id, items, cursor)


def contract_cursors(engine: DecisionEngine) -> dict[str, str | None]:
    """``updatedSince`` per known API (None when its contracts were never loaded: read a full
    snapshot)."""
    store = engine.contracts
    return {a: (store.cursor(a) if store.loaded(a) else None) for a in engine.api_ids()}
