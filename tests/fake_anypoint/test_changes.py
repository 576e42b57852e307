"""Control-plane changes apply themselves to a state by document key, learn what they create,
and name the known keys when a key names nothing."""

from __future__ import annotations

import copy

import pytest

from fake_anypoint import (
    CHANGES,
    ApplyPolicy,
    ChangeError,
    CreateContract,
    DeleteApi,
    EditTier,
    RemovePolicy,
    RevokeContract,
)

from .conftest import SEED, new_state


def test_changes_apply_by_key_and_learn_new_objects() -> None:
    state, _ = new_state()
    refs = state.seed(copy.deepcopy(SEED))
    before = state.rev
    summary = RevokeContract(application="mobile", api="orders").apply(state, refs)
    assert "revoked" in summary
    assert state.contracts[refs.contracts["mobile/orders"]].status == "REVOKED"
    ApplyPolicy(api="billing", asset_id="rate-limiting", key="rl").apply(state, refs)
    assert "billing/rl" in refs.policies
    RemovePolicy(policy="billing/rl").apply(state, refs)
    assert "billing/rl" not in refs.policies
    CreateContract(application="web", api="billing").apply(state, refs)
    assert "web/billing" in refs.contracts
    EditTier.model_validate(
        {"tier": "orders/gold", "limits": [{"maximum_requests": 5, "time_period_ms": 1000}]}
    ).apply(state, refs)
    assert state.rev > before


def test_an_unknown_key_names_the_known_ones() -> None:
    state, _ = new_state()
    refs = state.seed(copy.deepcopy(SEED))
    with pytest.raises(ChangeError, match="no policy \\(api/key\\) named 'orders/nope'; known:"):
        RemovePolicy(policy="orders/nope").apply(state, refs)
    with pytest.raises(ChangeError, match="must be written '<api key>/<policy key>'"):
        RemovePolicy(policy="nope").apply(state, refs)


def test_every_change_is_written_under_one_key() -> None:
    assert len(set(CHANGES.values())) == len(CHANGES) == 16
    assert {model.carried_by for model in CHANGES.values()} == {
        "contracts",
        "policies",
        "applications",
        "apis",
    }


def test_a_deleted_api_leaves_the_list_with_its_policies_and_contracts() -> None:
    state, _ = new_state()
    refs = state.seed(copy.deepcopy(SEED))
    api_id = refs.apis["billing"]
    assert "deleted" in DeleteApi(api="billing").apply(state, refs)
    assert api_id not in state.apis
    assert not [c for c in state.contracts.values() if c.api_id == api_id]
    assert "billing" not in refs.apis
    assert not [key for key in refs.contracts if key.endswith("/billing")]
    with pytest.raises(ChangeError, match="no API named 'billing'"):
        DeleteApi(api="billing").apply(state, refs)
