"""Rendering a ``ConformanceReport`` as JUnit XML (``junit.xml``) for CI systems: one testcase per
scenario, classname = its first feature, failures with the step, location and mismatches."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from reports.model import CaseReport, ConformanceReport

_SKIPPED = ("skipped", "not_supported", "provisional", "not_run")


def _failure_text(case: CaseReport) -> str:
    if case.failure is None:
        return case.error or ""
    lines = [f"{case.failure.location}: step '{case.failure.step}': {case.failure.message}"]
    for m in case.failure.mismatches:
        lines.append(f"  {m.field}: expected {m.expected!r}, got {m.actual!r}")
    if case.reproduce:
        lines.append(f"reproduce: {case.reproduce}")
    return "\n".join(lines)


def write_junit(report: ConformanceReport, path: Path) -> Path:
    cases = report.cases
    suite = ET.Element(
        "testsuite",
        name=f"asmkit conformance: {report.implementation.project}",
        tests=str(len(cases)),
        failures=str(sum(c.outcome == "failed" for c in cases)),
        skipped=str(sum(c.outcome in _SKIPPED for c in cases)),
        errors=str(sum(c.outcome == "error" for c in cases)),
        time=f"{report.duration_s:.3f}",
        timestamp=report.date,
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("implementation", report.implementation.project),
        ("implementation.version", report.implementation.version),
        ("kit.version", report.kit_version),
        ("data_plane", report.data_plane),
        ("result", report.result),
        *((("interrupted_by", report.interrupted_by),) if report.interrupted_by else ()),
    ):
        ET.SubElement(props, "property", name=name, value=value)
    for case in cases:
        element = ET.SubElement(
            suite,
            "testcase",
            classname=f"asmkit.{case.features[0] if case.features else 'misc'}",
            name=case.name,
            file=case.file,
            time=f"{case.duration_s:.3f}",
        )
        if case.outcome == "failed":
            failure = ET.SubElement(
                element,
                "failure",
                message=(case.failure.message if case.failure else case.error or "failed"),
            )
            failure.text = _failure_text(case)
        elif case.outcome == "error":
            error = ET.SubElement(element, "error", message=case.error or "kit error")
            error.text = _failure_text(case)
        elif case.outcome in _SKIPPED:
            ET.SubElement(element, "skipped", message=f"{case.outcome}: {case.reason}")
    path.parent.mkdir(parents=True, exist_ok=True)
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    path.write_bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))
    return path
