"""What every part of the control-plane state shares: the clock, the seeded id generator, the
revision counter that drives the sync API, and the hooks a store listens on.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from common.clock import Clock

FIRST_IDS = {
    "api": 10001,
    "policy": 501,
    "tier": 1,
    "application": 1001,
    "contract": 7001,
    "automated": 90001,
}


@dataclass
class Hooks:
    """Listeners outside the state (the SQLite store): a change of entities, and one new record
    (``token``, ``journal``, ``batch``, or ``replaced`` after a reset or restore)."""

    on_change: Callable[[], None] | None = None
    on_record: Callable[[str, Any], None] | None = None

    def changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def record(self, kind: str, value: Any) -> None:
        if self.on_record is not None:
            self.on_record(kind, value)


class Core:
    """Ids and revisions for one state; every part holds the same ``Core``."""

    def __init__(self, clock: Clock, seed: int, hooks: Hooks) -> None:
        self.clock = clock
        self.hooks = hooks
        self.ids = random.Random(seed)
        self.next_ids = dict(FIRST_IDS)
        self.rev = 0

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.ids.getrandbits(128), version=4))

    def hex(self) -> str:
        return f"{self.ids.getrandbits(128):032x}"

    def next(self, kind: str) -> int:
        """The next id of ``kind``; call it only once the new entity is known to be valid."""
        value = self.next_ids[kind]
        self.next_ids[kind] = value + 1
        return value

    def bump(self) -> int:
        """A new revision (the contracts feed's cursor, an API's policies version)."""
        self.rev += 1
        return self.rev

    def changed(self) -> None:
        self.hooks.changed()

    def wall(self) -> float:
        return self.clock.wall()
