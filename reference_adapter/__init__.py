"""The reference Anypoint Service Mesh adapter: an I/O-free decision core (`DecisionEngine`,
`SyncSchedule`, `AnalyticsBatcher`, `EventFactory`) and the live adapter around it
(`ReferenceAdapter`, configured by `ReferenceAdapterConfig`)."""

from reference_adapter.adapter import ReferenceAdapter
from reference_adapter.batcher import AnalyticsBatcher, Batch, BatcherStats
from reference_adapter.contracts import Contract, ContractStore, SlaLimit
from reference_adapter.control_plane import ControlPlaneClient, ControlPlaneError
from reference_adapter.engine import DecisionEngine
from reference_adapter.events import EventFactory
from reference_adapter.model import CheckInput, Decision, Denial, PolicyRef
from reference_adapter.policies.base import PolicyConfigError
from reference_adapter.schedule import SyncSchedule
from reference_adapter.settings import ReferenceAdapterConfig

__all__ = [
    "AnalyticsBatcher",
    "Batch",
    "BatcherStats",
    "CheckInput",
    "Contract",
    "ContractStore",
    "ControlPlaneClient",
    "ControlPlaneError",
    "Decision",
    "DecisionEngine",
    "Denial",
    "EventFactory",
    "PolicyConfigError",
    "PolicyRef",
    "ReferenceAdapter",
    "ReferenceAdapterConfig",
    "SlaLimit",
    "SyncSchedule",
]
