"""ControlPlaneState: ids, seeding, mutations, revisions and the contracts feed (no HTTP)."""

from __future__ import annotations

import copy

import pytest

from fake_anypoint import (
    Application,
    ControlPlaneSpec,
    ControlPlaneState,
    NotFoundError,
    UnbindService,
    dry_run,
)
from fake_anypoint.model import MULESOFT_GROUP_ID, ConflictError

from .conftest import SEED, new_state


def test_default_identity_is_deterministic_per_seed():
    a, _ = new_state(seed=1)
    b, _ = new_state(seed=1)
    c, _ = new_state(seed=2)
    assert (a.org_id, a.env_id, a.connected_app) == (b.org_id, b.env_id, b.connected_app)
    assert a.org_id != c.org_id
    assert a.connected_app.client_id != c.connected_app.client_id
    assert len(a.connected_app.client_secret) == 32


def test_seed_returns_ids_by_key_and_applies_defaults():
    state, _ = new_state()
    result = state.seed(copy.deepcopy(SEED))
    orders = result.apis["orders"]
    api = state.api(orders)
    assert api.asset_id == "orders"
    assert api.services == ["orders.default.svc.cluster.local"]
    assert state.api(result.apis["billing"]).instance_label == "billing-mesh"
    cid = state.policy(orders, result.policies["orders/cid"])
    assert (cid.asset_version, cid.group_id, cid.order) == ("1.3.3", MULESOFT_GROUP_ID, 1)
    rl = state.policy(orders, result.policies["orders/rl"])
    assert rl.order == 2
    assert rl.pointcut == [{"methodRegex": "GET", "uriTemplateRegex": "/orders.*"}]
    mobile = result.applications["mobile"]
    assert isinstance(mobile, Application)
    assert (mobile.client_id, mobile.client_secret) == ("mobile-id", "mobile-secret")
    assert len(result.applications["web"].client_id) == 32
    gold = state.tier(orders, result.tiers["orders/gold"])
    assert gold.limits == [
        {"maximumRequests": 100, "timePeriodInMilliseconds": 60000, "visible": True}
    ]
    assert state.contract(orders, result.contracts["mobile/orders"]).status == "APPROVED"
    assert state.contract(orders, result.contracts["web/orders"]).status == "PENDING"


def test_seeded_client_ids_are_deterministic_from_the_state_seed():
    a, _ = new_state(seed=7)
    b, _ = new_state(seed=7)
    ra = a.seed(copy.deepcopy(SEED))
    rb = b.seed(copy.deepcopy(SEED))
    assert ra.applications["web"].client_id == rb.applications["web"].client_id


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["apis"][0]["policies"][1].update(asset_idd="x"),
            "apis.0.policies.1.asset_idd\n  Extra inputs are not permitted",
        ),
        (lambda d: d.update(extra=1), "extra\n  Extra inputs are not permitted"),
        (lambda d: d["apis"][1].pop("key"), "apis.1.key\n  Field required"),
        (
            lambda d: d["contracts"][0].update(tier="platinum"),
            "control_plane.contracts[0].tier: 'platinum' is not a known tier of API 'orders'",
        ),
        (lambda d: d["contracts"][0].update(status="ACTIVE"), "contracts.0.status"),
        (
            lambda d: d["apis"][0]["tiers"][0]["limits"][0].update(maximum_requests=0),
            "apis.0.tiers.0.limits.0.maximum_requests\n  Input should be greater than or equal",
        ),
        (
            lambda d: d["apis"][0]["policies"][0].update(configuration=[1]),
            "apis.0.policies.0.configuration\n  Input should be a valid dictionary",
        ),
        (
            lambda d: d["apis"].append({"key": "orders"}),
            "control_plane.apis[2]: duplicate API key 'orders'",
        ),
        (
            lambda d: d["contracts"].append({"application": "tablet", "api": "orders"}),
            "control_plane.contracts[3].application: 'tablet' is not a known application",
        ),
    ],
)
def test_bad_seed_names_the_path_and_changes_nothing(mutate, message):
    state, _ = new_state()
    before = state.snapshot()
    data = copy.deepcopy(SEED)
    mutate(data)
    with pytest.raises(ValueError) as info:
        state.seed(data)
    assert message in str(info.value)
    assert state.snapshot() == before


def test_policy_mutations_bump_the_policies_version():
    state, _ = new_state()
    r = state.seed(copy.deepcopy(SEED))
    api_id, pid = r.apis["orders"], r.policies["orders/cid"]
    seen = {state.api(api_id).policies_version}
    new = state.apply_policy(
        api_id, "jwt-validation", {"jwtOrigin": "httpBearerAuthenticationHeader"}
    )
    seen.add(state.api(api_id).policies_version)
    assert state.policy(api_id, new).order == 3
    assert state.policy(api_id, new).asset_version == "1.3.1"
    state.edit_policy(api_id, pid, configuration={"clientIdExpression": "x"})
    seen.add(state.api(api_id).policies_version)
    state.edit_policy(api_id, pid, order=9)
    seen.add(state.api(api_id).policies_version)
    assert state.policy(api_id, pid).pointcut is None  # pointcut=... leaves it unchanged
    state.set_policy_disabled(api_id, pid, True)
    seen.add(state.api(api_id).policies_version)
    state.reorder_policies(api_id, {pid: 1})
    seen.add(state.api(api_id).policies_version)
    state.remove_policy(api_id, new)
    seen.add(state.api(api_id).policies_version)
    assert len(seen) == 7
    assert [p.id for p in state.policies_of(api_id)] == [pid, r.policies["orders/rl"]]
    # other APIs are untouched
    assert state.api(r.apis["billing"]).policies_version < min(seen - {min(seen)})


def test_unknown_ids_raise_not_found_and_bad_values_value_error():
    state, _ = new_state()
    r = state.seed(copy.deepcopy(SEED))
    with pytest.raises(NotFoundError, match="API with ID 999 not found"):
        state.apply_policy(999, "cors", {})
    with pytest.raises(NotFoundError, match="policy 1 not found on API"):
        state.remove_policy(r.apis["orders"], 1)
    with pytest.raises(ValueError, match="status: 'DONE'"):
        state.set_contract_status(r.apis["orders"], r.contracts["mobile/orders"], "DONE")
    with pytest.raises(ValueError, match="already has contract"):
        state.create_contract(r.apis["orders"], r.applications["mobile"].id)
    with pytest.raises(ValueError, match="used by contracts"):
        state.delete_tier(r.apis["orders"], r.tiers["orders/gold"])


def test_create_contract_pending_only_for_manual_tiers():
    state, _ = new_state()
    r = state.seed(copy.deepcopy(SEED))
    billing = r.apis["billing"]
    app = state.create_application("tablet")
    assert state.contract(billing, state.create_contract(billing, app.id)).status == "APPROVED"
    manual = state.add_tier(
        billing, "manual", [{"maximum_requests": 1, "time_period_ms": 10}], auto_approve=False
    )
    app2 = state.create_application("kiosk")
    cid = state.create_contract(billing, app2.id, manual)
    assert state.contract(billing, cid).status == "PENDING"
    state.set_contract_status(billing, cid, "APPROVED")
    assert state.contract(billing, cid).status == "APPROVED"


def test_contracts_feed_snapshot_incremental_and_pages():
    state, _ = new_state()
    r = state.seed(copy.deepcopy(SEED))
    orders = r.apis["orders"]
    page, cursor, nxt = state.contracts_feed(orders, None, 100)
    assert [c.id for c in page] == [r.contracts["mobile/orders"]]  # approved only
    assert nxt is None
    page, again, _ = state.contracts_feed(orders, cursor, 100)
    assert page == [] and again == cursor
    state.set_contract_status(orders, r.contracts["web/orders"], "APPROVED")
    state.set_contract_status(orders, r.contracts["mobile/orders"], "REVOKED")
    page, cursor2, _ = state.contracts_feed(orders, cursor, 100)
    assert [(c.id, c.status) for c in page] == [
        (r.contracts["web/orders"], "APPROVED"),
        (r.contracts["mobile/orders"], "REVOKED"),
    ]
    state.delete_contract(orders, r.contracts["web/orders"])
    page, _, _ = state.contracts_feed(orders, cursor2, 100)
    assert [(c.id, c.deleted) for c in page] == [(r.contracts["web/orders"], True)]
    # paging
    for i in range(5):
        app = state.create_application(f"bulk-{i}")
        state.create_contract(orders, app.id)
    ids: list[int] = []
    since = None
    for _ in range(10):
        page, cursor, nxt = state.contracts_feed(orders, since, 2)
        ids += [c.id for c in page]
        if nxt is None:
            break
        since = nxt
    assert len(ids) == 5 and len(set(ids)) == 5
    assert cursor == state.rev


def test_edit_tier_republishes_its_contracts():
    state, _ = new_state()
    r = state.seed(copy.deepcopy(SEED))
    orders = r.apis["orders"]
    _, cursor, _ = state.contracts_feed(orders, None, 100)
    state.edit_tier(
        orders, r.tiers["orders/gold"], limits=[{"maximum_requests": 7, "time_period_ms": 1000}]
    )
    page, _, _ = state.contracts_feed(orders, cursor, 100)
    assert [c.id for c in page] == [r.contracts["mobile/orders"]]


def test_bind_service_attaches_or_creates():
    state, _ = new_state()
    r = state.seed(copy.deepcopy(SEED))
    orders = r.apis["orders"]
    assert state.bind_service("orders-v2.default.svc", api_id=orders) == orders
    assert "orders-v2.default.svc" in state.api(orders).services
    new = state.bind_service("payments.shop.svc.cluster.local")
    assert state.api(new).asset_id == "payments"
    assert state.bind_service("payments-2.shop.svc", asset_id="payments") == new
    # moving a service detaches it from its old API
    state.bind_service("orders-v2.default.svc", api_id=new)
    assert "orders-v2.default.svc" not in state.api(orders).services


def test_unbind_service_takes_the_api_out_of_the_sync_list_until_bound_again():
    state, _ = new_state()
    r = state.seed(copy.deepcopy(SEED))
    orders = r.apis["orders"]
    listed = {a["apiId"] for a in state.sync_apis()["data"]}
    assert orders in listed
    (service,) = state.api(orders).services
    state.unbind_service(service, orders)
    assert orders not in {a["apiId"] for a in state.sync_apis()["data"]}
    # the instance, its policies and contracts stay in API Manager
    assert state.api(orders).id == orders
    assert state.policies_of(orders)
    assert state.bind_service(service, api_id=orders) == orders
    assert orders in {a["apiId"] for a in state.sync_apis()["data"]}


def test_unbinding_a_service_not_bound_is_refused_by_name():
    state, _ = new_state()
    r = state.seed(copy.deepcopy(SEED))
    with pytest.raises(ConflictError, match=r"'nope\.default\.svc' is not bound to API"):
        state.unbind_service("nope.default.svc", r.apis["orders"])
    change = UnbindService(service="nope.default.svc", api="orders")
    (why,) = dry_run(ControlPlaneSpec.model_validate(copy.deepcopy(SEED)), [change])
    assert why is not None and "not bound" in why


def test_reset_and_restore_roundtrip():
    state, _ = new_state(seed=3)
    ids = (state.org_id, state.env_id, state.connected_app.client_id)
    state.seed(copy.deepcopy(SEED))
    snap = state.snapshot()
    other = ControlPlaneState(clock=state.clock, seed=3)
    other.restore(snap)
    assert other.snapshot() == snap
    state.reset()
    assert (state.org_id, state.env_id, state.connected_app.client_id) == ids
    assert state.apis == {} and state.analytics_batches() == []
