"""Every published JSON Schema is what its model generates, and every library document
(scenarios, what-if specs, adapter profiles) validates against its schema and its model when
read with either YAML loader (libyaml or pure Python)."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from asmkit.schemas import MODELINE, PUBLISHED, stale_schemas
from common.yaml_source import load_yaml
from fake_anypoint import FaultSpec
from live.profile import AdapterProfile
from scenarios import LIBRARY, Scenario
from simulator.whatif.spec import WhatIfSpec

ROOT = LIBRARY.parent
LOADERS = [yaml.SafeLoader, *([yaml.CSafeLoader] if hasattr(yaml, "CSafeLoader") else [])]
DOCUMENTS = [
    *((p, Scenario) for p in sorted(LIBRARY.rglob("*.scenario.yaml"))),
    *((p, WhatIfSpec) for p in sorted(LIBRARY.rglob("*.whatif.yaml"))),
    *((p, AdapterProfile) for p in sorted((ROOT / "conformance" / "profiles").glob("*.yaml"))),
    *((p, AdapterProfile) for p in sorted((ROOT / "examples").glob("*/profile.yaml"))),
]


def test_published_schemas_are_current() -> None:
    assert stale_schemas() == [], "run: asmkit schema"


def test_the_library_is_not_empty() -> None:
    kinds = {model for _, model in DOCUMENTS}
    assert kinds == {Scenario, WhatIfSpec, AdapterProfile}
    assert len(DOCUMENTS) > 90


@pytest.mark.parametrize("loader", LOADERS, ids=lambda loader: loader.__name__)
@pytest.mark.parametrize(
    ("path", "model"), DOCUMENTS, ids=[str(p.relative_to(ROOT)) for p, _ in DOCUMENTS]
)
def test_every_library_document_validates(
    path: Path, model: type, loader: type[yaml.SafeLoader]
) -> None:
    published = next(p for p in PUBLISHED if p.model is model)
    data = load_yaml(path, loader)
    jsonschema.validate(data, published.schema(), cls=jsonschema.Draft202012Validator)
    model.model_validate(data)  # type: ignore[attr-defined]
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(MODELINE), f"{path}: start with {MODELINE}<schema file>"
    assert (path.parent / first.removeprefix(MODELINE)).resolve() == published.path.resolve()


def test_durations_are_published_as_number_or_text() -> None:
    schema = next(p for p in PUBLISHED if p.model is FaultSpec).schema()
    lasting = schema["properties"]["lasting"]["anyOf"][0]
    jsonschema.validate("500ms", lasting)
    jsonschema.validate(1.5, lasting)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate("soon", lasting)
