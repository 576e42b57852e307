"""An API instance bound to no mesh service is not in the kit's sync API list until a binding
names it; a scenario may rely on a kit convention as a whole (`conventions:`), and a profile
that waives it reports the case not_supported with its reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from common.clock import ManualClock
from conformance.results import Outcome
from conformance.selection import not_run
from fake_anypoint import ControlPlaneSpec, ControlPlaneState
from fake_anypoint.seed import apply_seed
from live.profile import BUNDLED_PROFILE, load_profile
from scenarios import LIBRARY, load_scenario
from scenarios.model import Scenario

BOUND = LIBRARY / "policy_sync" / "bound-api-served-within-sync.scenario.yaml"


def listed(state: ControlPlaneState) -> list[int]:
    return [item["apiId"] for item in state.sync_apis()["data"]]


def test_an_unbound_instance_is_listed_once_a_service_is_bound() -> None:
    state = ControlPlaneState(clock=ManualClock(), seed=0)
    spec = ControlPlaneSpec.model_validate(
        {"apis": [{"key": "orders"}, {"key": "inventory", "services": []}]}
    )
    refs = apply_seed(state, spec)
    orders, inventory = refs.apis["orders"], refs.apis["inventory"]
    assert listed(state) == [orders]
    # API Manager still shows the instance: only the adapter's list leaves it out
    assert inventory in [a.id for a in state.list_apis()]
    state.bind_service("inventory.default.svc.cluster.local", api_id=inventory)
    assert listed(state) == [orders, inventory]


def test_a_waived_convention_makes_the_cases_relying_on_it_not_supported(tmp_path: Path) -> None:
    scenario = load_scenario(BOUND).scenario
    assert scenario.conventions == ["bound-api-served-within-policy-sync"]
    bundled = load_profile(BUNDLED_PROFILE)
    assert not_run(scenario, bundled) is None
    waiving = tmp_path / "waiving.yaml"
    waiving.write_text(
        BUNDLED_PROFILE.read_text()
        + "\nwaive:\n  bound-api-served-within-policy-sync: contracts sync at their interval\n"
    )
    outcome = not_run(scenario, load_profile(waiving))
    assert outcome is not None
    assert outcome[0] == Outcome.NOT_SUPPORTED
    assert "bound-api-served-within-policy-sync" in outcome[1]
    assert "contracts sync at their interval" in outcome[1]


def test_an_unknown_convention_is_refused_with_the_known_ones() -> None:
    data = load_scenario(BOUND).scenario.model_dump(by_alias=True)
    data["conventions"] = ["bound-api-served-soon"]
    with pytest.raises(ValidationError) as err:
        Scenario.model_validate(data)
    assert "bound-api-served-soon is not a kit convention" in str(err.value)
    assert "bound-api-served-within-policy-sync" in str(err.value)
