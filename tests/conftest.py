"""Shared test setup: pytest's own ``pytester`` for testing the conformance plugin end to end."""

pytest_plugins = ["pytester"]
