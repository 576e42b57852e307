"""The fake Anypoint control plane: Access Management, API Manager, the adapter sync API,
analytics ingest, faults and an admin API over one injected ``ControlPlaneState``.
"""

from .faults import ActiveFault, DataKind, FaultSpec
from .model import Application, IngestBatch, JournalEntry, NotFoundError, SeedResult
from .seed import (
    ApiSpec,
    ApplicationSpec,
    ContractSpec,
    ControlPlaneSpec,
    LimitSpec,
    Pointcut,
    PolicySpec,
    TierSpec,
)
from .server import ControlPlaneServer
from .state import ControlPlaneState

__all__ = [
    "ActiveFault",
    "ApiSpec",
    "Application",
    "ApplicationSpec",
    "ContractSpec",
    "ControlPlaneServer",
    "ControlPlaneSpec",
    "ControlPlaneState",
    "DataKind",
    "FaultSpec",
    "IngestBatch",
    "JournalEntry",
    "LimitSpec",
    "NotFoundError",
    "Pointcut",
    "PolicySpec",
    "SeedResult",
    "TierSpec",
]
