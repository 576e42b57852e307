"""The in-process factory named by the bundled adapter profile
(``in_process: reference_adapter.launch:create_adapter``): settings mapping in, adapter out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reference_adapter.adapter import ReferenceAdapter
from reference_adapter.settings import ReferenceAdapterConfig
from reference_adapter.windows import InMemoryWindows


def create_adapter(
    settings: Mapping[str, Any], shared: dict[str, Any] | None = None
) -> ReferenceAdapter:
    """A not-yet-started ``ReferenceAdapter`` for ``settings`` (``ReferenceAdapterConfig`` fields).

    ``shared`` is one mapping per group of replicas started together: replicas in one process
    share their clusterizable rate-limit counters through it, as a Mule cluster does.
    """
    windows = shared.setdefault("windows", InMemoryWindows()) if shared is not None else None
    return ReferenceAdapter(
        ReferenceAdapterConfig.model_validate(dict(settings)), shared_windows=windows
    )
