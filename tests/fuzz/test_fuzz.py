"""A bounded run of every fuzz target (a fixed, derandomized set of inputs, so CI is
reproducible): no traceback, no hang, no server error. ``python3 dev.py fuzz`` runs them
longer, with fresh random inputs each time."""

from __future__ import annotations

import pytest

from tests.fuzz.harness import run
from tests.fuzz.targets import TARGETS

EXAMPLES = {
    "scenario-file": 150,
    "profile-file": 150,
    "whatif-spec": 150,
    "snapshot": 100,
    "state-file": 100,
    "cassette-file": 150,
    "grpc-face": 300,
    "http-face": 300,
    "ldap-directory": 300,
}


@pytest.mark.parametrize("name", list(TARGETS))
def test_fuzz_target_finds_nothing(name: str) -> None:
    figures = run(TARGETS[name], EXAMPLES.get(name, 100), derandomize=True, shrink=False)
    print(figures.line())
    assert figures.ok, figures.line()
    assert figures.inputs >= EXAMPLES.get(name, 100)
