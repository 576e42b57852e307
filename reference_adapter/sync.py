"""`Synchronizer`: one step of each sync kind (policies, contracts, keep-alive), moving JSON from
the `ControlPlaneClient` into the `DecisionEngine` and, when configured, the on-disk cache.
The timing lives in `SyncSchedule`; the loops live in the adapter."""

from __future__ import annotations

import logging
from typing import Any

from reference_adapter.cache import StateCache
from reference_adapter.control_plane import ControlPlaneClient
from reference_adapter.engine import DecisionEngine
from reference_adapter.sync_apply import (
    contract_cursors,
    install_api_list,
    install_contracts,
    install_policies,
    loaded_policies_version,
)

log = logging.getLogger("reference_adapter.sync")


class Synchronizer:
    """Keeps the engine in step with the platform. Each step raises `ControlPlaneError` (or a
    feed error) on failure and leaves what it already applied in place."""

    def __init__(
        self,
        client: ControlPlaneClient,
        engine: DecisionEngine,
        *,
        adapter_id: str,
        version: str,
        cache: StateCache | None = None,
    ) -> None:
        self.client = client
        self.engine = engine
        self.adapter_id = adapter_id
        self.version = version
        self.cache = cache
        self.apis_loaded = False
        self._policies: dict[str, dict[str, Any]] = {}

    async def sync_policies(self) -> list[str]:
        """Refresh the API list and each API's policies (with ETag). Returns new API ids."""
        apis = await self.client.list_apis()
        new = install_api_list(self.engine, apis)
        ids = self.engine.api_ids()
        self._policies = {k: v for k, v in self._policies.items() if k in ids}
        self.apis_loaded = True
        for api_id in ids:
            etag = (
                loaded_policies_version(self.engine, api_id) if api_id in self._policies else None
            )
            result = await self.client.get_policies(api_id, etag)
            if not result.modified:
                continue
            error = install_policies(self.engine, api_id, result.policies, result.version)
            if error:
                log.error("API %s: %s (answering 503 until it is fixed)", api_id, error)
            self._policies[api_id] = {"version": result.version, "policies": result.policies}
        self._save()
        return new

    async def sync_contracts(self) -> int:
        """Read the contracts feed of every known API (snapshot first, then from the cursor).
        Returns the number of feed items applied."""
        applied = 0
        for api_id, cursor in contract_cursors(self.engine).items():
            result = await self.client.get_contracts(api_id, cursor)
            install_contracts(self.engine, api_id, result.items, result.cursor, result.full)
            applied += len(result.items)
        self._save()
        return applied

    async def keepalive(self) -> None:
        api_ids = self.engine.api_ids()
        if api_ids:
            await self.client.keepalive(self.adapter_id, api_ids, self.version)

    def restore(self) -> bool:
        """Load the on-disk cache into the engine; True when something was restored."""
        if self.cache is None:
            return False
        data = self.cache.load()
        if not data:
            return False
        ids = [str(a) for a in data.get("apis", [])]
        self.engine.set_apis(ids)
        for api_id, entry in dict(data.get("policies", {})).items():
            if api_id in ids:
                self.engine.load_policies(api_id, entry["policies"], entry.get("version"))
                self._policies[api_id] = entry
        for api_id, entry in dict(data.get("contracts", {})).items():
            if api_id in ids:
                self.engine.load_contracts(api_id, entry.get("contracts", []), entry.get("cursor"))
        log.info("restored %d APIs from %s", len(ids), self.cache.path)
        return True

    def _save(self) -> None:
        if self.cache is None:
            return
        try:
            self.cache.save(
                {
                    "apis": self.engine.api_ids(),
                    "policies": self._policies,
                    "contracts": self.engine.contracts.snapshot(),
                }
            )
        except OSError as exc:
            log.warning("cannot write the state cache %s: %s", self.cache.path, exc)
