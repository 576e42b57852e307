"""The optional on-disk cache of the last good control-plane state (APIs, policies, contracts),
so a restart during an outage still enforces (the Mule gateway's policy cache). One JSON file,
replaced atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

CACHE_FILE = "reference-adapter-state.json"
FORMAT = 1


class StateCache:
    """Reads and writes ``<cache_dir>/reference-adapter-state.json``."""

    def __init__(self, cache_dir: Path | str) -> None:
        self.dir = Path(cache_dir)
        self.path = self.dir / CACHE_FILE

    def save(self, state: dict[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"format": FORMAT, **state}, sort_keys=True))
        os.replace(tmp, self.path)

    def load(self) -> dict[str, Any] | None:
        """The saved state, or None when there is none or it cannot be read (a corrupt cache
        is ignored: the adapter then waits for the control plane, it never fails open)."""
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return None
        return data
