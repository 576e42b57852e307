"""The ``control_plane:`` section of a scenario: the APIs, policies, tiers, applications and
contracts the fake control plane is seeded with before the first step.

Names are scenario-local keys; steps and variables refer to objects by key
(``apis.orders``, ``policies.orders/cid``, ``applications.mobile``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ContractStatus = Literal["APPROVED", "PENDING", "REVOKED", "REJECTED"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Pointcut(_Strict):
    """Restricts a policy to requests whose method and path match these regexes."""

    method_regex: str = ".*"
    uri_template_regex: str = ".*"


class PolicySpec(_Strict):
    """A policy applied to an API, as API Manager stores it."""

    key: str | None = Field(None, description="Scenario-local name; defaults to asset_id.")
    asset_id: str = Field(description="Exchange asset id, e.g. client-id-enforcement.")
    asset_version: str | None = None
    configuration: dict[str, Any] = Field(default_factory=dict)
    disabled: bool = False
    order: int | None = None
    pointcut: list[Pointcut] | None = None


class LimitSpec(_Strict):
    """One SLA-tier limit: at most ``maximum_requests`` per ``time_period_ms``."""

    maximum_requests: int = Field(ge=0)
    time_period_ms: int = Field(gt=0)
    visible: bool = True


class TierSpec(_Strict):
    """An SLA tier of an API."""

    key: str
    name: str | None = None
    auto_approve: bool = True
    limits: list[LimitSpec] = Field(default_factory=list)


class ApiSpec(_Strict):
    """An API Manager instance, with the mesh services bound to it."""

    key: str
    asset_id: str | None = None
    asset_version: str = "1.0.0"
    product_version: str = "v1"
    instance_label: str | None = None
    services: list[str] | None = Field(
        None, description="Mesh services bound to the API; default <key>.default.svc.cluster.local"
    )
    policies: list[PolicySpec] = Field(default_factory=list)
    tiers: list[TierSpec] = Field(default_factory=list)


class ApplicationSpec(_Strict):
    """A client application; credentials are generated from the run's seed when not given."""

    key: str
    name: str | None = None
    client_id: str | None = None
    client_secret: str | None = None


class ContractSpec(_Strict):
    """A contract between an application and an API, optionally on a tier."""

    application: str
    api: str
    tier: str | None = None
    status: ContractStatus = "APPROVED"


class ControlPlaneSpec(_Strict):
    """Everything the fake control plane holds when a scenario starts."""

    apis: list[ApiSpec] = Field(default_factory=list)
    applications: list[ApplicationSpec] = Field(default_factory=list)
    contracts: list[ContractSpec] = Field(default_factory=list)

    def seed_dict(self) -> dict[str, Any]:
        """The plain mapping ``fake_anypoint.ControlPlaneState.seed`` takes."""
        return self.model_dump(mode="json")
