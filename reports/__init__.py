"""Report models and renderers: the conformance report as YAML, JUnit XML and HTML.
Imports nothing else of asmkit's; generated files go to a gitignored folder (build/reports/)."""

from reports.html import write_html
from reports.junit import write_junit
from reports.model import (
    CaseReport,
    ConformanceReport,
    Coverage,
    Failure,
    Implementation,
    Mismatch,
    ProfileReport,
    Statistics,
    Status,
)
from reports.yaml_report import report_to_dict, write_yaml

__all__ = [
    "CaseReport",
    "ConformanceReport",
    "Coverage",
    "Failure",
    "Implementation",
    "Mismatch",
    "ProfileReport",
    "Statistics",
    "Status",
    "report_to_dict",
    "write_html",
    "write_junit",
    "write_yaml",
]
