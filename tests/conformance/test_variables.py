"""``${...}`` variables: seeded objects, keys with slashes, captures, Faker, clear errors."""

from __future__ import annotations

import pytest

from conformance.variables import VariableError, Variables, references


def make() -> Variables:
    return Variables(
        {
            "applications": {"mobile": {"client_id": "cid-1", "id": 7}},
            "policies": {"orders/cid": {"id": 501}},
            "run": {"seed": 3},
        }
    )


def test_substitute_keeps_types_for_whole_values() -> None:
    v = make()
    assert v.substitute("${applications.mobile.id}") == 7
    assert v.substitute("id=${applications.mobile.id}") == "id=7"
    assert v.substitute({"a": ["${policies.orders/cid.id}"]}) == {"a": [501]}


def test_unknown_reference_names_what_is_known() -> None:
    with pytest.raises(VariableError) as info:
        make().resolve("applications.mobil.client_id")
    assert "no 'mobil' under applications; known: mobile" in str(info.value)


def test_captures_and_faker_are_seeded() -> None:
    v = make()
    v.set_capture("token", "abc")
    assert v.resolve("captures.token") == "abc"
    assert make().resolve("faker.uuid4") == make().resolve("faker.uuid4")
    with pytest.raises(VariableError):
        v.resolve("faker.no_such_provider")


def test_references_lists_every_variable() -> None:
    assert references({"a": "${x.y} and ${z}", "b": ["${w}"]}) == ["x.y", "z", "w"]


def test_faker_generator_methods_and_argument_needing_providers_are_variable_errors() -> None:
    from conformance.variables import VariableError, Variables

    variables = Variables({"run": {"seed": 0}})
    for provider in ("seed_instance", "__class__", "add_provider", "nope"):
        with pytest.raises(VariableError, match="Faker has no"):
            variables.resolve(f"faker.{provider}")
    assert isinstance(variables.resolve("faker.uuid4"), str)
