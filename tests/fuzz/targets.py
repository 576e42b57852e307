"""Every fuzz target by name: ``python3 dev.py fuzz NAME...`` and the bounded run in the suite
both read this list. Add a target here (e.g. the fake control plane's routes) to have it run."""

from __future__ import annotations

from tests.fuzz.directory import TARGETS as DIRECTORY
from tests.fuzz.faces import TARGETS as FACES
from tests.fuzz.files import TARGETS as FILES
from tests.fuzz.harness import Target

TARGETS: dict[str, Target] = {t.name: t for t in [*FILES, *FACES, *DIRECTORY]}
