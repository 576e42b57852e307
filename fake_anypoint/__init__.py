"""The fake Anypoint control plane: Access Management, API Manager, the adapter sync API,
analytics ingest, faults and an admin API over one injected ``ControlPlaneState``.
"""

from .faults import Fault
from .model import Application, IngestBatch, JournalEntry, NotFoundError, SeedResult
from .server import ControlPlaneServer
from .state import ControlPlaneState

__all__ = [
    "Application",
    "ControlPlaneServer",
    "ControlPlaneState",
    "Fault",
    "IngestBatch",
    "JournalEntry",
    "NotFoundError",
    "SeedResult",
]
