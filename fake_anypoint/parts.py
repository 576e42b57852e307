"""The parts a ``ControlPlaneState`` is composed of, built together so they share one ``Core``
and can be replaced as a whole (reset, restore).
"""

from __future__ import annotations

from dataclasses import dataclass

from common.clock import Clock

from .catalog import Catalog
from .contracts import Contracts
from .core import Core, Hooks
from .exchange import Exchange
from .organization import Organization
from .records import Records


@dataclass
class Parts:
    """One complete set of parts; replaced as a whole by ``reset`` and ``restore``."""

    core: Core
    org: Organization
    catalog: Catalog
    exchange: Exchange
    deals: Contracts
    records: Records


def new_parts(clock: Clock, seed: int, hooks: Hooks, token_ttl_s: float) -> Parts:
    """The initial state for ``seed`` (ids drawn in a fixed order: same seed, same ids)."""
    core = Core(clock, seed, hooks)
    org = Organization(core)
    catalog = Catalog(core, org)
    return Parts(
        core,
        org,
        catalog,
        Exchange(core, catalog),
        Contracts(core, catalog),
        Records(clock, seed, hooks, org, token_ttl_s),
    )
