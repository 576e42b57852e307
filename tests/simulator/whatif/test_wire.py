"""The what-if reads the control plane's state in exactly the JSON the fake control plane's
sync routes serve (every field the adapter reads)."""

from __future__ import annotations

from asmkit.clock import ManualClock
from fake_anypoint import ControlPlaneState
from fake_anypoint.views import feed_contract, sync_api, sync_policy
from simulator.whatif.wire import api_item, contract_item, policy_item

from .helpers import base


def test_wire_items_equal_the_fake_control_planes_views() -> None:
    data = base()["control_plane"]
    data["apis"][0]["tiers"] = [
        {"key": "gold", "limits": [{"maximum_requests": 5, "time_period_ms": 1000}]}
    ]
    data["contracts"][0]["tier"] = "gold"
    state = ControlPlaneState(ManualClock(), seed=2)
    ids = state.seed(data)
    api_id = ids.apis["orders"]
    state.set_contract_status(api_id, ids.contracts["web/orders"], "REVOKED")
    api = state.api(api_id)
    assert api_item(api) == sync_api(api)
    for policy in state.policies_of(api_id):
        assert policy_item(policy) == sync_policy(policy)
    contracts = list(state.contracts.values())
    assert len(contracts) == 2
    for contract in contracts:
        ours, theirs = contract_item(state, contract), feed_contract(state, contract)
        assert ours == {k: theirs[k] for k in ours}
