"""The published JSON Schema of the scenario format, generated from the pydantic models so that
editors (yaml-language-server) autocomplete and check scenario files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scenarios.model import Scenario

SCHEMA_PATH = Path(__file__).parent / "schema.json"
MODELINE = "# yaml-language-server: $schema="


def scenario_schema() -> dict[str, Any]:
    schema = Scenario.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "asmkit scenario"
    return schema


def schema_text() -> str:
    return json.dumps(scenario_schema(), indent=2, sort_keys=True) + "\n"


def write_schema(path: Path | None = None) -> Path:
    target = path or SCHEMA_PATH
    target.write_text(schema_text(), encoding="utf-8")
    return target
