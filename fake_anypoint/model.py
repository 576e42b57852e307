"""The control plane's entities (APIs, policies, tiers, applications, contracts) and records.

Plain mutable dataclasses owned by ``ControlPlaneState``; rendering to wire JSON lives in
``views``. Times: ``*_wall`` fields are epoch seconds, everything else is the state clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MULESOFT_GROUP_ID = "68ef9520-24e9-4cf2-b2f5-620025690913"

# Default asset versions of the policy templates the kit knows (research/anypoint.md §1.3).
KNOWN_POLICY_VERSIONS: dict[str, str] = {
    "client-id-enforcement": "1.3.3",
    "rate-limiting": "1.4.1",
    "rate-limiting-sla-based": "1.3.1",
    "jwt-validation": "1.3.1",
    "http-basic-authentication": "1.3.2",
    "ldap-authentication": "1.4.1",
    "spike-control": "1.2.2",
    "ip-allowlist": "1.1.2",
    "ip-blocklist": "1.1.2",
    "header-injection": "1.3.2",
    "header-removal": "1.1.2",
    "json-threat-protection": "1.2.1",
    "cors": "1.3.2",
}

CONTRACT_STATUSES = ("APPROVED", "PENDING", "REVOKED", "REJECTED")


class NotFoundError(LookupError):
    """An id the caller named does not exist (HTTP 404)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "not found"


class ConflictError(ValueError):
    """The request does not fit the entity's current state (HTTP 409)."""


@dataclass
class Environment:
    id: str
    name: str
    organization_id: str
    is_production: bool = False
    type: str = "sandbox"
    client_id: str = ""


@dataclass
class ConnectedApp:
    """A connected app (its id is its ``client_id``); ``scopes`` as Access Management lists them:
    ``{scope, context_params}``."""

    client_id: str
    client_secret: str
    name: str = "asmkit-connected-app"
    grant_types: list[str] = field(default_factory=lambda: ["client_credentials"])
    redirect_uris: list[str] = field(default_factory=list)
    scopes: list[dict[str, Any]] = field(default_factory=list)
    audience: str = "internal"
    client_uri: str = ""
    enabled: bool = True
    owner_user_id: str = ""


@dataclass
class AutomatedPolicy:
    """A policy API Manager applies to every API instance of an environment."""

    id: int
    env_id: str
    group_id: str
    asset_id: str
    asset_version: str
    configuration: dict[str, Any]
    order: int
    disabled: bool
    pointcut: list[dict[str, str]] | None
    created_wall: float
    updated_wall: float


@dataclass
class Api:
    id: int
    env_id: str
    asset_id: str
    asset_version: str
    product_version: str
    instance_label: str | None
    group_id: str
    services: list[str]
    created_wall: float
    updated_wall: float
    policies_version: int = 0
    technology: str = "flexGateway"
    endpoint_uri: str | None = None
    endpoint: dict[str, Any] = field(default_factory=dict)
    deprecated: bool = False
    is_public: bool = False
    tags: list[str] = field(default_factory=list)
    last_active_wall: float | None = None
    last_active_at: float | None = None
    keepalive_period: float | None = None
    """Seconds between the last two keep-alives of one adapter naming this API."""
    keepalive_by_adapter: dict[str, float] = field(default_factory=dict)
    """The state clock of each adapter's last keep-alive naming this API."""


@dataclass
class Policy:
    id: int
    api_id: int
    group_id: str
    asset_id: str
    asset_version: str
    configuration: dict[str, Any]
    order: int
    disabled: bool
    pointcut: list[dict[str, str]] | None
    created_wall: float
    updated_wall: float


@dataclass
class Tier:
    id: int
    api_id: int
    name: str
    description: str
    auto_approve: bool
    limits: list[dict[str, Any]]
    created_wall: float
    updated_wall: float
    status: str = "ACTIVE"


@dataclass
class Application:
    id: int
    name: str
    client_id: str
    client_secret: str
    description: str = ""
    created_wall: float = 0.0
    updated_wall: float = 0.0


@dataclass
class Contract:
    id: int
    api_id: int
    application_id: int
    tier_id: int | None
    requested_tier_id: int | None
    status: str
    seq: int
    created_wall: float
    updated_wall: float
    approved_wall: float | None = None
    rejected_wall: float | None = None
    revoked_wall: float | None = None
    deleted: bool = False


@dataclass
class Token:
    value: str
    subject: str  # a connected app's client id, or "user:<username>"
    expires_at: float


@dataclass(frozen=True)
class SeedResult:
    """Ids created by ``ControlPlaneState.seed``, by scenario key."""

    apis: dict[str, int]
    policies: dict[str, int]
    applications: dict[str, Application]
    contracts: dict[str, int]
    tiers: dict[str, int]


@dataclass
class IngestBatch:
    """One analytics POST, kept as first received; retries with its batch id only count."""

    batch_id: str
    received_at: float
    received_wall: float
    size_bytes: int
    events: list[dict[str, Any]]
    duplicates: int = 0


@dataclass(frozen=True)
class JournalEntry:
    """One HTTP request the fake served (or dropped: ``status == 0``)."""

    method: str
    path: str
    status: int
    started: float
    duration: float
    fault: str | None
    data: tuple[str, ...]
    """The data kinds the endpoint serves (``fake_anypoint.faults.DataKind`` values)."""
    query: str = ""
    replayed: bool = False
    caller: str = ""
    """Which login made the request: a short digest of its bearer token (each adapter replica
    logs in for itself), or "" without one. Never the token itself."""


@dataclass
class Asset:
    """An Exchange asset version published through the Exchange API."""

    group_id: str
    asset_id: str
    version: str
    name: str
    type: str
    description: str
    created_wall: float
