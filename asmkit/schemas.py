"""The published JSON Schemas: one per input document, generated from the document's one
pydantic model and written beside the library it describes (editors complete and check files
with them; ``asmkit schema`` rewrites them; a test keeps them current)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from fake_anypoint import ControlPlaneSpec, FaultSpec
from fake_anypoint.cassette import Cassette
from live.profile import AdapterProfile
from scenarios import LIBRARY, Scenario
from simulator.whatif.spec import WhatIfSpec

MODELINE = "# yaml-language-server: $schema="


@dataclass(frozen=True)
class Published:
    """One published schema: the model, the file and the title."""

    model: type[BaseModel]
    path: Path
    title: str

    def schema(self) -> dict[str, Any]:
        schema = self.model.model_json_schema(by_alias=True, mode="validation")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = self.title
        return schema

    def text(self) -> str:
        return json.dumps(self.schema(), indent=2, sort_keys=True) + "\n"


PUBLISHED: tuple[Published, ...] = (
    Published(Scenario, LIBRARY / "schema.json", "asmkit scenario"),
    Published(WhatIfSpec, LIBRARY / "whatif" / "whatif.schema.json", "asmkit what-if spec"),
    Published(
        AdapterProfile,
        LIBRARY.parent / "conformance" / "profiles" / "profile.schema.json",
        "asmkit adapter profile",
    ),
    Published(ControlPlaneSpec, LIBRARY / "control-plane.schema.json", "asmkit control-plane seed"),
    Published(FaultSpec, LIBRARY / "fault.schema.json", "asmkit control-plane fault"),
    Published(Cassette, LIBRARY / "cassette.schema.json", "asmkit cassette"),
)


def write_schemas() -> list[Path]:
    """Rewrite every published schema; returns the files written."""
    for published in PUBLISHED:
        published.path.write_text(published.text(), encoding="utf-8")
    return [p.path for p in PUBLISHED]


def stale_schemas() -> list[Path]:
    """Published schemas whose file differs from what the models generate."""
    return [
        p.path
        for p in PUBLISHED
        if not p.path.exists() or p.path.read_text(encoding="utf-8") != p.text()
    ]
