"""Shared test setup: pytest's ``pytester`` for the conformance plugin, and ``require_tool``
for tests that need an external program (redis-server, envoy, node)."""

from __future__ import annotations

import os
import shutil

import pytest

pytest_plugins = ["pytester"]

REQUIRE_ALL = os.environ.get("ASMKIT_REQUIRE_ALL") == "1"
"""Set by .ci/run: a missing external tool fails the test instead of skipping it."""


def require_tool(name: str, install: str) -> str:
    """The path of executable ``name``; skips (locally) or fails (in CI) when it is missing."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed ({install})"
        if REQUIRE_ALL:
            pytest.fail(message + "; ASMKIT_REQUIRE_ALL=1 is set, so this is an error")
        pytest.skip(message)
    return path
