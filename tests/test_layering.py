"""The rooms keep their import direction (DESIGN.md): every room may import the shared leaf
``common`` (clock, durations), which imports nothing of ours; the fake control plane and the
reference adapter share nothing else; reports import nothing of ours; only conformance, the CLI
and the benchmarks may use everything."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {
    "asmkit",
    "common",
    "fake_anypoint",
    "reference_adapter",
    "simulator",
    "scenarios",
    "conformance",
    "live",
    "proxy",
    "reports",
    "benchmarks",
}
LEAF = "common"

ALLOWED: dict[str, set[str]] = {
    "fake_anypoint": {"fake_anypoint"},
    "reference_adapter": {"reference_adapter"},
    # DESIGN.md: the simulator reaches the control plane over HTTP or through its state object.
    "simulator": {"simulator", "reference_adapter", "scenarios", "reports"},
    # Scenarios embed the fake's seed and fault models and the proxy's network-fault model
    # (their public packages only).
    "scenarios": {"scenarios"},
    # The live stack starts the adapter under test, the fake and the proxy; never the suite.
    "live": {"live", "simulator", "fake_anypoint", "scenarios", "proxy"},
    # The proxy stands between an adapter and any platform: it knows nothing of the kit's fake.
    "proxy": {"proxy"},
    "reports": {"reports"},
    "common": {"common"},
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_room_imports_only_what_it_may(room: str) -> None:
    offenders = []
    for path in sorted((ROOT / room).rglob("*.py")):
        for module in imports_of(path):
            top = module.split(".")[0]
            if top not in OURS or top == LEAF or top in ALLOWED[room]:
                continue
            if room in ("simulator", "scenarios") and module == "fake_anypoint":
                continue  # the public package only (state, seed and fault models), never internals
            if room == "scenarios" and module == "proxy":
                continue  # the public package only (the network-fault model)
            offenders.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offenders == []


def test_common_is_a_leaf() -> None:
    for path in sorted((ROOT / LEAF).rglob("*.py")):
        assert {m.split(".")[0] for m in imports_of(path)} & OURS <= {LEAF}, path


MITM_ALLOWED = {"mitmproxy", "OpenSSL", "h11", "cryptography"}
"""What code running inside mitmdump may import besides the standard library (mitmproxy and
its own dependencies): it runs in mitmdump's environment, where nothing of ours is installed."""


def test_mitm_package_imports_only_stdlib_and_mitmproxy() -> None:
    import sys

    offenders = []
    for path in sorted((ROOT / "proxy" / "mitm").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                continue  # siblings, through relative imports only
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                top = name.split(".")[0]
                if top != "__future__" and top not in sys.stdlib_module_names | MITM_ALLOWED:
                    offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []
