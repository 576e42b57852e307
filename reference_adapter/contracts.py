"""Contracts as the adapter holds them: `Contract` (one client's approved access to one API,
with its SLA tier limits), `parse_contract` for the feed's JSON, and `ContractStore`, the
per-API table fed by full snapshots and incremental (``updatedSince``) pages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

APPROVED = "APPROVED"


class ContractFeedError(ValueError):
    """A contracts-feed item that cannot be understood (names the field and value)."""


@dataclass(frozen=True, slots=True)
class SlaLimit:
    """One limit of an SLA tier: ``maximum_requests`` per ``period_ms`` window."""

    maximum_requests: int
    period_ms: int
    visible: bool = True


@dataclass(frozen=True, slots=True)
class Contract:
    """An approved contract: who may call the API, with which secret and SLA limits."""

    contract_id: int
    client_id: str
    client_secret: str | None
    client_name: str = ""
    status: str = APPROVED
    sla_tier_id: int | None = None
    sla_tier_name: str | None = None
    limits: tuple[SlaLimit, ...] = ()
    updated: str = ""


def _int(item: Mapping[str, Any], key: str, required: bool = True) -> int | None:
    value = item.get(key)
    if value is None:
        if required:
            raise ContractFeedError(f"contract item lacks {key!r}: {dict(item)!r}")
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ContractFeedError(f"contract item {key}={value!r}: expected an integer") from None


def parse_limits(raw: object, where: str) -> tuple[SlaLimit, ...]:
    """Parse ``[{maximumRequests, timePeriodInMilliseconds, visible}]`` (tiers and policies)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ContractFeedError(f"{where}: limits={raw!r}: expected a list")
    limits: list[SlaLimit] = []
    for entry in raw:
        if not isinstance(entry, Mapping):
            raise ContractFeedError(f"{where}: limit {entry!r}: expected an object")
        try:
            maximum = int(entry["maximumRequests"])
            period = int(entry["timePeriodInMilliseconds"])
        except (KeyError, TypeError, ValueError):
            raise ContractFeedError(
                f"{where}: limit {dict(entry)!r}: expected integer maximumRequests and "
                "timePeriodInMilliseconds"
            ) from None
        if maximum < 0 or period <= 0:
            raise ContractFeedError(
                f"{where}: limit {dict(entry)!r}: maximumRequests must be >= 0 and "
                "timePeriodInMilliseconds > 0"
            )
        limits.append(SlaLimit(maximum, period, bool(entry.get("visible", True))))
    return tuple(limits)


def parse_contract(item: Mapping[str, Any]) -> tuple[Contract, bool]:
    """One feed item as ``(contract, grants_access)``; ``grants_access`` is false for removed
    items and for any status other than APPROVED."""
    if not isinstance(item, Mapping):
        raise ContractFeedError(f"contract item {item!r}: expected an object")
    contract_id = _int(item, "contractId")
    client_id = item.get("clientId")
    if not isinstance(client_id, str) or not client_id:
        raise ContractFeedError(
            f"contract {contract_id}: clientId={client_id!r}: expected a string"
        )
    secret = item.get("clientSecret")
    tier = item.get("slaTier")
    tier_name: str | None = None
    limits: tuple[SlaLimit, ...] = ()
    if isinstance(tier, Mapping):
        tier_name = str(tier.get("name")) if tier.get("name") is not None else None
        limits = parse_limits(tier.get("limits"), f"contract {contract_id} slaTier")
    status = str(item.get("status") or APPROVED).upper()
    contract = Contract(
        contract_id=contract_id or 0,
        client_id=client_id,
        client_secret=secret if isinstance(secret, str) else None,
        client_name=str(item.get("clientName") or ""),
        status=status,
        sla_tier_id=_int(item, "slaTierId", required=False),
        sla_tier_name=tier_name,
        limits=limits,
        updated=str(item.get("updatedDate") or ""),
    )
    grants = not item.get("removed", False) and status == APPROVED
    return contract, grants


class ContractStore:
    """Approved contracts per API, keyed by client id, plus the feed cursor per API.

    ``lookup`` tables are plain dicts: policies read them on the hot path.
    """

    def __init__(self) -> None:
        self._by_api: dict[str, dict[str, Contract]] = {}
        self._cursor: dict[str, str | None] = {}

    def table(self, api_id: str) -> Mapping[str, Contract]:
        """The client-id → contract table of one API (empty if never loaded)."""
        return self._by_api.get(api_id, {})

    def loaded(self, api_id: str) -> bool:
        return api_id in self._by_api

    def cursor(self, api_id: str) -> str | None:
        """The cursor to send as ``updatedSince`` next time (None: ask for a full snapshot)."""
        return self._cursor.get(api_id)

    def replace(self, api_id: str, items: Iterable[Mapping[str, Any]], cursor: str | None) -> None:
        """Install a full snapshot (all pages of a feed read without ``updatedSince``)."""
        table: dict[str, Contract] = {}
        for item in items:
            contract, grants = parse_contract(item)
            if grants:
                table[contract.client_id] = contract
        self._by_api[api_id] = table
        self._cursor[api_id] = cursor

    def apply_changes(
        self, api_id: str, items: Iterable[Mapping[str, Any]], cursor: str | None
    ) -> None:
        """Apply an incremental page set: approvals are upserted, removed or non-approved
        contracts are dropped. The cursor only moves forward when one is given."""
        table = dict(self._by_api.get(api_id, {}))
        for item in items:
            contract, grants = parse_contract(item)
            if grants:
                table[contract.client_id] = contract
            else:
                existing = table.get(contract.client_id)
                if (
                    existing is None
                    or existing.contract_id == contract.contract_id
                    or not (contract.contract_id)
                ):
                    table.pop(contract.client_id, None)
        self._by_api[api_id] = table
        if cursor is not None:
            self._cursor[api_id] = cursor

    def put(self, api_id: str, contracts: Iterable[Contract]) -> None:
        """Install contracts directly (what-if engines and tests): replaces the API's table."""
        self._by_api[api_id] = {c.client_id: c for c in contracts if c.status == APPROVED}

    def forget(self, api_id: str) -> None:
        self._by_api.pop(api_id, None)
        self._cursor.pop(api_id, None)

    def api_ids(self) -> list[str]:
        return sorted(self._by_api)

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able copy (for the on-disk cache)."""
        return {
            api: {
                "cursor": self._cursor.get(api),
                "contracts": [_contract_json(c) for c in table.values()],
            }
            for api, table in self._by_api.items()
        }


def _contract_json(c: Contract) -> dict[str, Any]:
    return {
        "contractId": c.contract_id,
        "clientId": c.client_id,
        "clientSecret": c.client_secret,
        "clientName": c.client_name,
        "status": c.status,
        "slaTierId": c.sla_tier_id,
        "slaTier": {
            "id": c.sla_tier_id,
            "name": c.sla_tier_name,
            "limits": [
                {
                    "maximumRequests": limit.maximum_requests,
                    "timePeriodInMilliseconds": limit.period_ms,
                    "visible": limit.visible,
                }
                for limit in c.limits
            ],
        },
        "updatedDate": c.updated,
    }
