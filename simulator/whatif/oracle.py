"""`Oracle`: what the control plane says at every instant, as one exact enforcement point. It
follows (skips) the replicas while they are in sync and share one counter store, forks on a
change and follows again, adopting their windows, once they caught up (docs/whatif.md)."""

from __future__ import annotations

from collections.abc import Sequence

from reference_adapter import DecisionEngine
from reference_adapter.windows import WindowCounters
from simulator.whatif.controlplane import ControlPlaneModel
from simulator.whatif.replica import Replica
from simulator.whatif.sync_apply import apply_contracts, apply_policies
from simulator.whatif.windows import FastWindows

STATELESS_ASSETS = frozenset(
    {
        "client-id-enforcement",
        "http-basic-authentication",
        "ip-allowlist",
        "ip-blocklist",
        "header-injection",
        "header-removal",
        "cors",
        "json-threat-protection",
    }
)
"""Policies whose decision depends only on the request and the synced state (memoisable)."""


def stateless(engine: DecisionEngine) -> bool:
    """Whether every enforced chain of ``engine`` is made of `STATELESS_ASSETS`."""
    for api_id in engine.api_ids():
        state = engine.api(api_id)
        if state is not None and any(p.ref.name not in STATELESS_ASSETS for p in state.chain):
            return False
    return True


def shares_its_store(engine: DecisionEngine) -> bool:
    """Whether every stateful policy of ``engine`` counts in the engine's shared store."""
    for api_id in engine.api_ids():
        state = engine.api(api_id)
        if state is None:
            continue
        for applied in state.chain:
            if applied.ref.name in STATELESS_ASSETS:
                continue
            if getattr(applied.impl, "windows", None) is not engine.shared_windows:
                return False
    return True


class Oracle:
    """A `DecisionEngine` reloaded the moment the control plane changes. While every replica has
    synced every change, is up and ready, and all rate-limit state lives in one store the
    replicas share (one replica, or ``quota: shared``), the oracle shares that store and would
    compute exactly the replica's verdict: it is not called (`following`). A change forks it (a
    copy of the store, the new state); once the replicas caught up it follows again, adopting
    their windows (a window opened at another moment is not a wrong decision). ``engine`` is
    the current oracle engine."""

    def __init__(self, cp: ControlPlaneModel, replicas: Sequence[Replica]) -> None:
        self.cp = cp
        self.replicas = replicas
        self.following = False
        self.rev = -1
        self.engine = self._build(FastWindows())

    def _build(self, store: WindowCounters) -> DecisionEngine:
        engine = DecisionEngine("disabled", shared_windows=store)
        self._load(engine)
        return engine

    def _load(self, engine: DecisionEngine) -> None:
        apply_policies(engine, self.cp.read_policies())
        apply_contracts(engine, self.cp.read_contracts(dict.fromkeys(engine.api_ids())))
        self.rev = self.cp.rev

    def _active(self) -> list[Replica]:
        return [r for r in self.replicas if r.active]

    def _common_store(self) -> WindowCounters | None:
        stores = {id(r.engine.shared_windows): r.engine.shared_windows for r in self._active()}
        return next(iter(stores.values())) if len(stores) == 1 else None

    def _caught_up(self) -> bool:
        changed = self.cp.changed
        return all(
            r.up
            and r.synced["policies"] >= changed["policies"]
            and r.synced["contracts"] >= changed["contracts"]
            and r.engine.ready()
            and shares_its_store(r.engine)
            for r in self._active()
        )

    def refresh(self) -> bool:
        """Bring the oracle up to date after other processes ran; returns `following`."""
        store = self._common_store()
        if store is not None and self._caught_up():
            if not self.following or self.engine.shared_windows is not store:
                self.engine = self._build(store)
                self.following = shares_its_store(self.engine)
            elif self.rev != self.cp.rev:
                self._load(self.engine)
        elif self.following:
            current = self.engine.shared_windows
            copy = current.copy() if isinstance(current, FastWindows) else FastWindows()
            self.engine = self._build(copy)
            self.following = False
        elif self.rev != self.cp.rev:
            self._load(self.engine)
        return self.following
