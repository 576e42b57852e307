"""The JSON Schema of what-if specs (``scenarios/whatif/whatif.schema.json``), generated from
the pydantic models so editors autocomplete ``*.whatif.yaml``. Durations accept numbers or
strings such as ``15s``. ``python -m simulator.whatif.schema`` rewrites it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from simulator.whatif.spec import WhatIfSpec

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "scenarios" / "whatif" / "whatif.schema.json"


def whatif_schema() -> dict[str, Any]:
    schema = WhatIfSpec.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "asmkit what-if spec"
    return schema


def schema_text() -> str:
    return json.dumps(whatif_schema(), indent=2, sort_keys=True) + "\n"


def write_schema(path: Path | None = None) -> Path:
    target = path or SCHEMA_PATH
    target.write_text(schema_text(), encoding="utf-8")
    return target


if __name__ == "__main__":
    print(f"wrote {write_schema()}")
