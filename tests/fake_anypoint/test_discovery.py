"""Service discovery and keep-alive status: a discovered service of each asset type gets its
Exchange asset and API instance, and the instance is active while keep-alives arrive, inactive
after two and a half missed periods of the adapter that sends them."""

from __future__ import annotations

import pytest

from fake_anypoint import DiscoverService, SeedResult
from fake_anypoint.discovery import discover, summary

from .conftest import new_state


@pytest.mark.parametrize(
    ("kind", "exchange", "endpoint"),
    [("http", "http-api", "http"), ("rest", "rest-api", "raml"), ("soap", "wsdl", "wsdl")],
)
def test_discovery_publishes_the_asset_and_creates_the_instance(kind, exchange, endpoint):
    state, _ = new_state()
    api_id = discover(state, "catalog.shop.svc.cluster.local", kind)
    api = state.api(api_id)
    assert api.asset_id == "catalog" and api.technology == "serviceMesh"
    assert api.endpoint["type"] == endpoint
    assert state.asset(state.org_id, "catalog", "1.0.0").type == exchange
    seen = summary(state, api_id)
    assert (seen.asset_type, seen.status) == (kind, "inactive")
    assert seen.services == ("catalog.shop.svc.cluster.local",)
    # a second service of the same asset joins the same instance
    assert discover(state, "catalog.other.svc.cluster.local", kind) == api_id
    assert len(state.apis) == 1


def test_discover_service_change_names_the_new_api_for_later_steps():
    state, _ = new_state()
    refs = SeedResult({}, {}, {}, {}, {})
    change = DiscoverService(service="billing.svc", api="billing", asset_type="soap")
    assert "discovered as soap API billing" in change.apply(state, refs)
    assert summary(state, refs.apis["billing"]).asset_type == "soap"


def test_status_follows_the_keepalives_of_each_adapter():
    state, clock = new_state()
    api_id = discover(state, "orders.svc", "rest")
    api = state.api(api_id)
    state.keepalive("adapter-a", [api_id], "1")
    assert state.api_status(api) == "active"
    clock.advance(44)
    assert state.api_status(api) == "active"  # the period is unknown yet: 45 s
    clock.advance(2)
    assert state.api_status(api) == "inactive"
    for _ in range(3):  # adapter-a every 1 s, adapter-b just after it
        state.keepalive("adapter-a", [api_id], "1")
        state.keepalive("adapter-b", [api_id], "1")
        clock.advance(1)
    assert api.keepalive_period == 1  # per adapter, not the gap between two adapters
    clock.advance(1.4)
    assert state.api_status(api) == "active"
    clock.advance(0.2)  # 2.6 s after the last keep-alive: two and a half missed
    assert state.api_status(api) == "inactive"
