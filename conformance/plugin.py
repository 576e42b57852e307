"""The pytest plugin (entry point ``pytest11: asmkit``): ``--asm-*`` options, collection of
``*.scenario.yaml`` files, and the reports at the end of the session.

Usage: ``pytest --asm-adapter=my-adapter.yaml --asm-report-dir=build/reports scenarios/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

SUFFIX = ".scenario.yaml"


def pytest_addoption(parser: pytest.Parser) -> None:
    from conformance.options import add_pytest_options

    add_pytest_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    import sys

    from conformance.options import from_pytest
    from conformance.session import SESSION_KEY, ConformanceSession

    config.addinivalue_line("markers", "asm_feature(name): the scenario exercises this feature")
    options = from_pytest(config)
    options.command = ["pytest", *sys.argv[1:]]
    session = ConformanceSession(options)
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(session, "asmkit-session")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Any:
    if file_path.name.endswith(SUFFIX):
        from conformance.items import ScenarioYamlFile

        return ScenarioYamlFile.from_parent(parent, path=file_path)
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from conformance.items import ScenarioItem
    from conformance.session import SESSION_KEY
    from scenarios.problems import ScenarioError

    if any(isinstance(i, ScenarioItem) for i in items):
        try:
            config.stash[SESSION_KEY].profile  # noqa: B018 - validate once, before any scenario
        except ScenarioError as exc:
            raise pytest.UsageError(f"invalid adapter profile:\n{exc}") from None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    result = getattr(item, "asm_result", None)
    # a scenario's result comes with its call; an invalid file's with its failed setup
    if result is not None and (report.when == "call" or (report.when == "setup" and report.failed)):
        report.user_properties.append(("asmkit_result", result.to_dict()))
    return report
