"""ContractStore: full snapshots, incremental changes, removals, tiers, cache round trip."""

from __future__ import annotations

import pytest

from reference_adapter.contracts import ContractFeedError, ContractStore, SlaLimit, parse_contract

from .helpers import API, contract


def test_snapshot_keeps_only_approved_and_records_cursor():
    store = ContractStore()
    assert not store.loaded(API) and store.cursor(API) is None
    store.replace(API, [contract("a"), contract("b", contract_id=2, status="PENDING")], "17")
    assert set(store.table(API)) == {"a"}
    assert store.loaded(API) and store.cursor(API) == "17"


def test_incremental_upserts_and_removes():
    store = ContractStore()
    store.replace(API, [contract("a", contract_id=1), contract("b", contract_id=2)], "1")
    store.apply_changes(
        API,
        [contract("b", contract_id=2, removed=True), contract("c", contract_id=3, secret="z")],
        "2",
    )
    assert set(store.table(API)) == {"a", "c"}
    assert store.table(API)["c"].client_secret == "z"
    store.apply_changes(API, [contract("a", contract_id=1, status="REVOKED")], None)
    assert set(store.table(API)) == {"c"}
    assert store.cursor(API) == "2"  # no cursor given: keep the old one


def test_tier_limits_are_parsed():
    c, grants = parse_contract(contract(limits=[(100, 60000), (5, 1000)]))
    assert grants and c.sla_tier_id == 3 and c.sla_tier_name == "Gold"
    assert c.limits == (SlaLimit(100, 60000), SlaLimit(5, 1000))


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        ({"clientId": "a"}, "contractId"),
        ({"contractId": 1}, "clientId"),
        ({"contractId": "x", "clientId": "a"}, "contractId='x'"),
        (
            {"contractId": 1, "clientId": "a", "slaTier": {"limits": [{"maximumRequests": 1}]}},
            "timePeriodInMilliseconds",
        ),
    ],
)
def test_bad_items_name_the_field(item, fragment):
    with pytest.raises(ContractFeedError, match=fragment):
        parse_contract(item)


def test_snapshot_restore_round_trip():
    store = ContractStore()
    store.replace(API, [contract("a", limits=[(3, 1000)])], "9")
    copy = ContractStore()
    for api, entry in store.snapshot().items():  # as Synchronizer.restore loads the cache
        copy.replace(api, entry["contracts"], entry["cursor"])
    assert copy.table(API) == store.table(API) and copy.cursor(API) == "9"
