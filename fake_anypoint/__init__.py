"""The fake Anypoint control plane: Access Management, API Manager, the adapter sync API,
analytics ingest, faults and an admin API over one injected ``ControlPlaneState``.
"""

from .changes import (
    CHANGES,
    ApplyPolicy,
    ApproveContract,
    BindService,
    Change,
    ChangeError,
    CreateApplication,
    CreateContract,
    DeleteContract,
    DisablePolicy,
    DiscoverService,
    EditPolicy,
    EditTier,
    EnablePolicy,
    RejectContract,
    RemovePolicy,
    RevokeContract,
)
from .discovery import AssetType, InstanceSummary
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
    "CHANGES",
    "ActiveFault",
    "ApiSpec",
    "Application",
    "ApplicationSpec",
    "ApplyPolicy",
    "ApproveContract",
    "AssetType",
    "BindService",
    "Change",
    "ChangeError",
    "ContractSpec",
    "ControlPlaneServer",
    "ControlPlaneSpec",
    "ControlPlaneState",
    "CreateApplication",
    "CreateContract",
    "DataKind",
    "DeleteContract",
    "DisablePolicy",
    "DiscoverService",
    "EditPolicy",
    "EditTier",
    "EnablePolicy",
    "FaultSpec",
    "IngestBatch",
    "InstanceSummary",
    "JournalEntry",
    "LimitSpec",
    "NotFoundError",
    "Pointcut",
    "PolicySpec",
    "RejectContract",
    "RemovePolicy",
    "RevokeContract",
    "SeedResult",
    "TierSpec",
]
