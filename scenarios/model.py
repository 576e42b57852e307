"""The scenario: one file, one flow. Top-level keys and the settings a scenario asks of the
adapter and the data plane."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from common.adapter_settings import AdapterSettings
from common.durations import Duration
from fake_anypoint import ControlPlaneSpec, FaultSpec
from scenarios.analytics_fields import CONVENTIONS
from scenarios.directory import DirectorySpec
from scenarios.expectations import MAX_WAIT, HttpStatus
from scenarios.features import Feature
from scenarios.identity import IdentityProviderSpec
from scenarios.steps import AdapterStep, AnalyticsStep, Step

Transport = Literal["grpc", "http"]
TRANSPORTS: tuple[Transport, ...] = ("grpc", "http")


class AdapterNeeds(AdapterSettings):
    """Adapter settings the scenario needs, by the kit's setting names (e.g. short sync
    intervals make sync lag testable live, ``gatekeeper: strict``). Only the settings written
    here are needs; the rest keep the profile's values. A profile that cannot pass a needed
    value makes the case ``not_supported``."""

    replicas: int = Field(
        1,
        ge=1,
        le=8,
        description="Adapter replicas, each behind its own sidecar, taking requests in turn",
    )
    wait_ready: bool = Field(
        True,
        description="Wait for the adapter's first sync before the first step (false to "
        "observe the gatekeeper)",
    )


class RequestBody(BaseModel):
    """Envoy's ``with_request_body``: buffer the body and send it with the check."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    max_request_bytes: int = Field(8192, gt=0, le=64 * 1024 * 1024)
    allow_partial_message: bool = False
    pack_as_bytes: bool = Field(
        False,
        description="Send the body as bytes in raw_body instead of text in body (gRPC only; "
        "the scenario then declares envoy-raw-body and transports: [grpc])",
    )


class DataPlaneNeeds(BaseModel):
    """Envoy ext_authz settings the scenario needs; unset values keep the profile's."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    timeout: Duration | None = Field(None, le=MAX_WAIT)
    failure_mode_allow: bool | None = None
    status_on_error: HttpStatus | None = None
    with_request_body: RequestBody | None = None
    encode_raw_headers: bool = Field(
        False,
        description="Send the headers as header_map (one raw entry per line, duplicates not "
        "merged) instead of the merged headers map; the scenario then declares "
        "envoy-raw-headers",
    )


class Scenario(BaseModel):
    """One conformance case: seeded control-plane state, then steps."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True
    )

    name: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]*$", description="Stable id; equals the file stem"
    )
    description: str = Field(min_length=1, description="One sentence, copied into reports")
    features: list[Feature] = Field(
        min_length=1, description="What the case exercises; the first decides its profile"
    )
    provisional: bool = False
    conventions: list[str] = Field(
        default_factory=list,
        max_length=len(CONVENTIONS),
        description="Kit conventions the whole case relies on (docs/adapter-contract.md §2.6): a "
        "profile that waives one reports the case not_supported",
    )
    transports: list[Transport] = Field(
        default_factory=lambda: list(TRANSPORTS),
        description="ext_authz transports the scenario applies to; e.g. [grpc] when it needs "
        "a denied 5xx or a 200 deny, which HTTP service mode cannot carry",
    )
    needs_client_address: bool = Field(
        False,
        description="Decisions depend on the client's address (source_ip, ipExpression "
        "remoteAddress): in HTTP service mode the adapter learns it only from the headers "
        "Envoy sets with use_remote_address, so an HTTP profile without "
        "ext_authz.use_remote_address reports the case not_supported",
    )
    seed: int = 0
    adapter: AdapterNeeds = AdapterNeeds()
    data_plane: DataPlaneNeeds = DataPlaneNeeds()
    control_plane: ControlPlaneSpec = ControlPlaneSpec()
    identity_provider: IdentityProviderSpec | None = Field(
        None,
        description="An identity provider on loopback (not Anypoint) serving a JWKS document at "
        "${identity_provider.jwks_url} and signing the tokens steps send as ${jwt.<name>}",
    )
    directory: DirectorySpec | None = Field(
        None,
        description="An LDAPv3 directory on loopback (not Anypoint) at ${directory.url}, holding "
        "the entries an ldap-authentication policy authenticates users against",
    )
    faults: list[FaultSpec] = Field(
        default_factory=list,
        description="Control-plane faults in place before the adapter starts: lasting counts "
        "from the adapter's first request the fault hits (or, with after, from when it is up)",
    )
    steps: list[Step] = Field(min_length=1)
    finally_steps: list[Step] = Field(default_factory=list, alias="finally")

    @model_validator(mode="after")
    def _known_conventions(self) -> Scenario:
        unknown = sorted(set(self.conventions) - set(CONVENTIONS))
        if unknown:
            raise ValueError(
                f"conventions: {', '.join(unknown)} is not a kit convention: use one of "
                + ", ".join(sorted(CONVENTIONS))
            )
        return self

    @model_validator(mode="after")
    def _metrics_port_declares_its_feature(self) -> Scenario:
        if "metrics" in self.ports_taken and Feature.ANALYTICS_LOSS_REPORTING not in self.features:
            raise ValueError(
                "port_taken: metrics needs the metrics endpoint of an adapter that reports its"
                " lost events: add analytics-loss-reporting to features"
            )
        return self

    @property
    def ports_taken(self) -> set[str]:
        """The ports an ``adapters: start`` step holds (``port_taken``)."""
        return {
            step.port_taken
            for step in [*self.steps, *self.finally_steps]
            if isinstance(step, AdapterStep) and step.port_taken is not None
        }

    @model_validator(mode="after")
    def _loss_checks_declare_their_feature(self) -> Scenario:
        reads = any(
            isinstance(step, AnalyticsStep) and step.analytics.reads_metrics
            for step in [*self.steps, *self.finally_steps]
        )
        if reads and Feature.ANALYTICS_LOSS_REPORTING not in self.features:
            raise ValueError(
                "analytics.dropped and analytics.accounted_for read the adapter's metrics:"
                " add analytics-loss-reporting to features"
            )
        return self
