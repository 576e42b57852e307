"""Analytics fields compare by their rules: normative ones exactly, ids by value whatever their
JSON type, enumerations in any case; waived conventions drop what they govern; a failed count
carries the nearest received events with their field-by-field differences."""

from __future__ import annotations

from typing import Any

from scenarios.analytics_fields import FIELDS, Rule, field_differences, nearest, waive


def matches(where: dict[str, Any], event: dict[str, Any]) -> bool:
    return not field_differences(where, event)


def test_nested_fields_and_nulls() -> None:
    event = {
        "status_code": 401,
        "policy_violation": {"policy_name": "client-id-enforcement", "policy_id": 5},
    }
    where = {"status_code": 401, "policy_violation": {"policy_name": "client-id-enforcement"}}
    assert matches(where, event)
    assert not matches({"policy_violation": None}, event)
    assert matches({"policy_violation": None}, {"policy_violation": None})
    assert not matches({"client_id": "x"}, event)
    assert matches({"client_id": None}, event)  # an absent field is as good as null


def test_ids_compare_by_value_and_enumerations_in_any_case() -> None:
    event = {
        "api_id": 10001,
        "status_code": "401",
        "request_disposition": "BLOCKED",
        "verb": "get",
        "policy_violation": {"policy_id": "501", "policy_name": "Client-ID-Enforcement"},
    }
    where = {
        "api_id": "10001",
        "status_code": 401,
        "request_disposition": "blocked",
        "verb": "GET",
        "policy_violation": {"policy_id": 501, "policy_name": "client-id-enforcement"},
    }
    assert matches(where, event)


def test_normative_fields_stay_exact() -> None:
    assert not matches({"path": "/orders"}, {"path": "/Orders"})
    assert not matches({"client_id": "abc"}, {"client_id": "ABC"})
    assert not matches({"api_id": "10001"}, {"api_id": "10002"})
    assert all(FIELDS[f].rule == Rule.EXACT for f in ("path", "client_id", "event_id"))


def test_a_waived_convention_drops_the_null_it_governs() -> None:
    where = {"client_id": None, "status_code": 401}
    event = {"client_id": "presented-id", "status_code": 401}
    assert not matches(where, event)
    assert matches(waive(where, {"client-id-only-when-authenticated"}), event)
    assert waive({"client_id": "x"}, {"client-id-only-when-authenticated"}) == {"client_id": "x"}


def test_nearest_events_show_each_difference() -> None:
    events = [
        {"event_id": "a", "status_code": 200, "path": "/other", "verb": "GET"},
        {"event_id": "b", "status_code": 403, "path": "/orders", "verb": "DELETE"},
        {"event_id": "c", "status_code": 401, "path": "/orders", "verb": "GET"},
    ]
    where = {"status_code": 401, "path": "/orders", "verb": "DELETE"}
    found = nearest(where, events, limit=2)
    assert [n["event_id"] for n in found] == ["b", "c"]
    assert found[0]["differences"] == [{"field": "status_code", "expected": 401, "received": 403}]
    assert found[1]["differences"] == [{"field": "verb", "expected": "DELETE", "received": "GET"}]


def test_a_regex_matches_a_text_field_and_nothing_else() -> None:
    where = {"user_agent": {"regex": "^caf.{1,4}-client$"}}
    assert field_differences(where, {"user_agent": "caf!-client"}) == []
    assert field_differences(where, {"user_agent": "caf\ufffd-client"}) == []
    assert field_differences(where, {"user_agent": "client"}) == [
        ("user_agent", {"regex": "^caf.{1,4}-client$"}, "client")
    ]
    assert field_differences(where, {"user_agent": None})[0][2] is None
    assert field_differences(where, {})[0][2] == "missing"
    assert field_differences(where, {"user_agent": 7})[0][2] == 7
