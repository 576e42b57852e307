"""Rendering a ``ConformanceReport`` as YAML (``conformance-report.yaml``), field names in the
Gateway API's camelCase style."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import yaml

from reports.model import ConformanceReport


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {
            _camel(f.name): _plain(getattr(value, f.name))
            for f in fields(value)
            if not (f.metadata.get("omit_empty") and not getattr(value, f.name))
        }
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def report_to_dict(report: ConformanceReport) -> dict[str, Any]:
    """The report as plain data, top-level keys first in reading order."""
    data = _plain(report)
    head = {
        "apiVersion": data.pop("apiVersion"),
        "kind": data.pop("kind"),
        "result": report.result,
    }
    if report.interrupted:
        data["notRun"] = list(report.not_run)
    return {**head, **data}


def write_yaml(report: ConformanceReport, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(report_to_dict(report), sort_keys=False, allow_unicode=True, width=100)
    path.write_text(text, encoding="utf-8")
    return path
