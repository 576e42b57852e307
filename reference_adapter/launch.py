"""The in-process factory named by the bundled adapter profile
(``in_process: reference_adapter.launch:create_adapter``): settings mapping in, adapter out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reference_adapter.adapter import ReferenceAdapter
from reference_adapter.settings import AdapterSettings


def create_adapter(settings: Mapping[str, Any]) -> ReferenceAdapter:
    """A not-yet-started ``ReferenceAdapter`` for ``settings`` (``AdapterSettings`` fields)."""
    return ReferenceAdapter(AdapterSettings.model_validate(dict(settings)))
