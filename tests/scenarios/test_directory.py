"""A scenario's ``directory``: DNs are checked and normalized, entries sit below the base once
each, everything is bounded, mistakes name their field; ``${directory...}`` references must
name a value it has, need a directory, and may stand in the control-plane seed."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from conformance.validation import check_scenario_file
from scenarios import ScenarioError
from scenarios.directory import (
    DEFAULT_CLASSES,
    MAX_ENTRIES,
    DirectoryEntry,
    DirectorySpec,
    DnError,
    normalize_dn,
    parse_dn,
)

SERVICE = {"dn": "cn=reader,dc=asmkit,dc=test", "password": "Reader-Secret-7"}
SCENARIO = """\
name: dir
description: The directory's references are checked.
features: [ldap-authentication]
directory:
  base: dc=asmkit,dc=test
  service: {dn: "cn=reader,dc=asmkit,dc=test", password: Reader-Secret-7}
  entries:
    - {dn: "uid=alice,ou=people,dc=asmkit,dc=test", password: Wonderland-42}
control_plane:
  apis:
    - key: orders
      policies:
        - key: ldap
          asset_id: ldap-authentication
          configuration:
            ldapServerURL: ${directory.url}
            ldapServerUserDn: ${directory.service_dn}
            ldapServerUserPassword: ${directory.service_password}
            ldapSearchBase: ${directory.base}
steps:
  - request:
      api: orders
      headers: {x-base: "${directory.base}"}
"""


def spec(**fields: object) -> DirectorySpec:
    return DirectorySpec.model_validate({"base": "dc=asmkit,dc=test", "service": SERVICE, **fields})


def test_dns_parse_and_normalize() -> None:
    assert parse_dn(" uid = alice , ou=People,DC=asmkit ") == (
        ("uid", "alice"),
        ("ou", "People"),
        ("DC", "asmkit"),
    )
    assert normalize_dn("UID=Alice  Liddell,dc=Test") == normalize_dn("uid=alice liddell, dc=test")
    assert normalize_dn("") == ""
    for bad in ("alice", "uid=", "uid=a,b", "uid=a+cn=b", "uid=a\\,b", "1uid=a", "cn=#04"):
        with pytest.raises(DnError):
            parse_dn(bad)
    with pytest.raises(DnError, match="at most"):
        parse_dn(",".join(["ou=x"] * 17))


def test_entry_values_add_the_rdn_and_the_default_classes() -> None:
    entry = DirectoryEntry(dn="uid=alice,dc=asmkit,dc=test", attributes={"CN": "Alice"})
    assert entry.values() == {"cn": ("Alice",), "objectclass": DEFAULT_CLASSES, "uid": ("alice",)}
    named = DirectoryEntry(dn="uid=Alice,dc=t", attributes={"uid": ["ALICE", "al"]})
    assert named.values()["uid"] == ("ALICE", "al")  # the RDN's value is there (case ignored)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"entries": [{"dn": "uid=a,dc=other"}]}, "entries[0].dn: 'uid=a,dc=other' is not below"),
        (
            {"entries": [{"dn": "uid=a,dc=asmkit,dc=test"}, {"dn": "UID=A, dc=asmkit,dc=test"}]},
            "entries[1].dn: 'UID=A, dc=asmkit,dc=test' is entries[0] again",
        ),
        ({"entries": [{"dn": SERVICE["dn"]}]}, "service.dn: 'cn=reader,dc=asmkit,dc=test' is also"),
        ({"entries": [{"dn": "uid=a;b,dc=asmkit,dc=test"}]}, "entries.0.dn"),
        ({"entries": [{"dn": "uid=a,dc=asmkit,dc=test", "password": "short"}]}, "password"),
        (
            {"entries": [{"dn": "uid=a,dc=asmkit,dc=test", "attributes": {"userPassword": "x"}}]},
            "set the password with password:",
        ),
        (
            {"entries": [{"dn": "uid=a,dc=asmkit,dc=test", "attributes": {"cn": "a", "CN": "b"}}]},
            "attribute cn is given twice",
        ),
        (
            {"entries": [{"dn": f"uid=u{i},dc=asmkit,dc=test"} for i in range(MAX_ENTRIES + 1)]},
            "64",
        ),
        ({"base": ""}, "give the naming context"),
        (
            {"entries": [{"dn": "uid=a,dc=asmkit,dc=test", "attributes": {"cn": "x" * 1025}}]},
            "1024",
        ),
    ],
)
def test_mistakes_name_their_field(fields: dict[str, object], expected: str) -> None:
    with pytest.raises(ValidationError, match=None) as raised:
        spec(**fields)
    assert expected in str(raised.value)


def test_secrets_are_every_password() -> None:
    made = spec(entries=[{"dn": "uid=a,dc=asmkit,dc=test", "password": "Wonderland-42"}])
    assert made.secrets() == ["Reader-Secret-7", "Wonderland-42"]


def problems(tmp_path: Path, text: str) -> str:
    path = tmp_path / "dir.scenario.yaml"
    path.write_text(text)
    try:
        return "\n".join(str(p) for p in check_scenario_file(path))
    except ScenarioError as exc:
        return str(exc)


def test_a_valid_directory_has_no_problem(tmp_path: Path) -> None:
    assert problems(tmp_path, SCENARIO) == ""


def test_references_name_a_directory_value(tmp_path: Path) -> None:
    found = problems(tmp_path, SCENARIO.replace('${directory.base}"', '${directory.root}"'))
    assert "${directory.root}: no value named 'root'; known: base, service_dn" in found


def test_references_need_a_directory(tmp_path: Path) -> None:
    head, rest = SCENARIO.split("directory:\n", 1)
    found = problems(tmp_path, head + rest[rest.index("control_plane:") :])
    assert "ldapServerURL: ${directory.url}: the scenario has no directory" in found
    assert "headers.x-base: ${directory.base}: the scenario has no directory" in found


def test_a_bad_entry_is_reported_with_its_place(tmp_path: Path) -> None:
    found = problems(tmp_path, SCENARIO.replace("uid=alice,ou=people", "uid=alice,,ou=people"))
    assert "directory.entries[0].dn" in found and "is not an attribute=value pair" in found
