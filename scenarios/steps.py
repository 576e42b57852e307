"""Scenario steps: requests, control-plane changes, waits, ``eventually`` blocks, analytics
checks and checks of how often the adapter called the control plane. A step is a mapping with
an optional ``name`` and exactly one action key.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from common.adapter_settings import SyncName
from common.durations import Duration
from fake_anypoint import (
    CHANGES,
    AnyChange,
    AssetType,
    ChangeFields,
    ExpireTokens,
    FaultSpec,
)
from proxy import NetworkFault
from scenarios.expectations import (
    MAX_WAIT,
    AnalyticsExpect,
    HttpStatus,
    PlatformCallsExpect,
    ResponseExpect,
)
from scenarios.identity import IdentityProviderStep

ACTION_KEYS = (
    "request",
    "control_plane",
    "wait",
    "eventually",
    "analytics",
    "fault",
    "api_instance",
    "adapters",
    "state_dir",
    "identity_provider",
    "platform_calls",
)


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True
    )


class RequestSpec(_Strict):
    """One client request, sent through the data plane to the API's bound service."""

    api: str | None = Field(None, description="API key; its first bound service is the authority")
    authority: str | None = None
    method: str = "GET"
    path: str = "/"
    headers: dict[str, str | list[str]] = Field(default_factory=dict)
    body: str | None = None
    json_body: Any = Field(None, alias="json")
    source_ip: str = "127.0.0.1"


class RequestStep(_Strict):
    """Send a request (``repeat`` times, ``concurrency`` at once) and check each response."""

    name: str | None = None
    request: RequestSpec
    expect: ResponseExpect | None = None
    repeat: int = Field(1, ge=1, le=100_000)
    concurrency: int = Field(1, ge=1, le=1_000)
    statuses: dict[HttpStatus, Annotated[int, Field(ge=0, le=100_000)]] | None = Field(
        None, description="Exactly how many of the responses had each status, e.g. {200: 6, 429: 4}"
    )
    capture: dict[str, str] = Field(default_factory=dict)


class ControlPlaneChange(ChangeFields):
    """Exactly one change to the control plane, made the way API Manager would make it (the
    change models are the fake control plane's: ``fake_anypoint.changes``), or
    ``expire_tokens: {}``: every access token issued so far expires now."""

    expire_tokens: ExpireTokens | None = None

    def given_changes(self) -> list[str]:
        given = super().given_changes()
        return [*given, "expire_tokens"] if self.expire_tokens is not None else given

    @model_validator(mode="after")
    def _exactly_one(self) -> ControlPlaneChange:
        given = self.given_changes()
        if len(given) != 1:
            allowed = ", ".join([*CHANGES, "expire_tokens"])
            raise ValueError(f"give exactly one change (got {len(given)}); one of: {allowed}")
        return self

    @property
    def kind(self) -> str:
        return self.given_changes()[0]

    @property
    def change(self) -> AnyChange:
        """The one change given (it applies itself to a control-plane state)."""
        value: AnyChange = getattr(self, self.kind)
        return value


class ControlPlaneStep(_Strict):
    """Change the control plane."""

    name: str | None = None
    control_plane: ControlPlaneChange


class WaitSpec(_Strict):
    """Wait a fixed ``duration``, or ``intervals`` of one of the adapter's sync loops."""

    duration: Duration | None = Field(None, le=MAX_WAIT)
    sync: SyncName | None = None
    intervals: float = Field(1.0, gt=0, le=100)

    @model_validator(mode="after")
    def _one_of(self) -> WaitSpec:
        if (self.duration is None) == (self.sync is None):
            raise ValueError("give exactly one of duration (e.g. 2s) or sync (e.g. contracts)")
        return self


class WaitStep(_Strict):
    """Let time pass."""

    name: str | None = None
    wait: WaitSpec


class EventuallySpec(_Strict):
    """Repeat ``steps`` every ``every`` until they pass ``consecutive`` times in a row, failing
    after ``within`` (or one ``within_sync`` interval plus ``slack``). The time it took is
    recorded as the time to consistency."""

    within: Duration | None = Field(None, le=MAX_WAIT)
    within_sync: SyncName | None = None
    slack: Duration = Field(1.0, le=MAX_WAIT)
    every: Duration = Field(0.05, ge=0.001, le=60)
    consecutive: int = Field(3, ge=1, le=10_000)
    steps: list[RequestStep] = Field(min_length=1)

    @model_validator(mode="after")
    def _deadline(self) -> EventuallySpec:
        if (self.within is None) == (self.within_sync is None):
            raise ValueError("give exactly one of within (e.g. 5s) or within_sync (e.g. contracts)")
        return self


class EventuallyStep(_Strict):
    """Wait for the system to converge."""

    name: str | None = None
    eventually: EventuallySpec


class AnalyticsStep(_Strict):
    """Check the analytics events the control plane received."""

    name: str | None = None
    analytics: AnalyticsExpect


class PlatformCallsStep(_Strict):
    """Check how often the adapter called the control plane for one kind of data (pacing:
    retries back off during an outage, polls keep their interval)."""

    name: str | None = None
    platform_calls: PlatformCallsExpect


class ApiInstanceExpect(_Strict):
    """The API instance of ``api`` as API Manager shows it, checked until it matches or the
    deadline passes: ``within``, or ``intervals`` of the ``within_sync`` loop (e.g.
    ``keepalive``) plus ``slack``; without either, checked once."""

    api: str = Field(description="API key (seeded, or given by discover_service)")
    status: Literal["active", "inactive"] | None = None
    asset_type: AssetType | None = Field(
        None, description="http, rest or soap (its Exchange asset)"
    )
    services: list[str] = Field(
        default_factory=list, max_length=100, description="Mesh services it must be bound to"
    )
    within: Duration | None = None
    within_sync: SyncName | None = None
    intervals: float = Field(1.0, gt=0, le=1000, description="How many within_sync intervals")
    slack: Duration = 1.0

    @model_validator(mode="after")
    def _deadline(self) -> ApiInstanceExpect:
        if self.within is not None and self.within_sync is not None:
            raise ValueError("give at most one of within (e.g. 5s) or within_sync (e.g. keepalive)")
        return self


class ApiInstanceStep(_Strict):
    """Check an API instance: its asset type, bound services and keep-alive status."""

    name: str | None = None
    api_instance: ApiInstanceExpect


class AdapterStep(_Strict):
    """Stop every adapter replica (``adapters: stop``), kill them as SIGKILL does, with no
    chance to save or flush anything (``adapters: kill``), or start them again
    (``adapters: start``)."""

    name: str | None = None
    adapters: Literal["stop", "kill", "start"]
    within: Duration | None = Field(
        None,
        gt=0,
        le=MAX_WAIT,
        description="With stop: each replica's clean stop ends within this long (a command "
        "adapter exits after SIGTERM), else it is killed and the step fails, as Kubernetes "
        "kills a pod after its grace period (30 s by default)",
    )

    port_taken: Literal["ext_authz", "metrics"] | None = Field(
        None,
        description="With start: the kit holds this port of each replica first (ext_authz: "
        "its transport's; metrics: its metrics endpoint's), so the start must fail: an "
        "in-process start raises, a command adapter exits before its ready_timeout, and "
        "every other port it was handed is free again. The replicas stay stopped",
    )

    @model_validator(mode="after")
    def _within_stops(self) -> AdapterStep:
        if self.within is not None and self.adapters != "stop":
            raise ValueError("within bounds a stop: give it with adapters: stop")
        if self.port_taken is not None and self.adapters != "start":
            raise ValueError("port_taken is what a start meets: give it with adapters: start")
        return self


class StateDirStep(_Strict):
    """Tamper with each stopped replica's ``{state_dir}`` (``state-cache`` cases only):
    ``foreign`` overwrites every file in it with a JSON object this adapter did not write (an
    older version's cache, say); ``removed`` deletes the directory. Give it between
    ``adapters: stop`` and ``adapters: start``."""

    name: str | None = None
    state_dir: Literal["foreign", "removed"]


class ClearFaults(_Strict):
    """Remove every fault now (``fault: {clear: true}``)."""

    clear: Literal[True]


class NetworkFaultSpec(_Strict):
    """A fault on the network between the adapter and a platform host, applied by the proxy
    (``fault: {network: {kind: stall, host: platform, path: '*/contracts*', lasting: 5s}}``).
    Only adapters run through the proxy (profile ``control_plane: {via: proxy}``) can take it;
    scenarios that use one declare the ``network-faults`` feature."""

    network: NetworkFault


def _fault_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "clear" if "clear" in value else "network" if "network" in value else "fault"
    if isinstance(value, ClearFaults):
        return "clear"
    return "network" if isinstance(value, NetworkFaultSpec) else "fault"


FaultOrClear = Annotated[
    Annotated[FaultSpec, Tag("fault")]
    | Annotated[ClearFaults, Tag("clear")]
    | Annotated[NetworkFaultSpec, Tag("network")],
    Discriminator(_fault_kind),
]


class FaultStep(_Strict):
    """Inject a control-plane or network fault (windows count from this step), or clear them
    all."""

    name: str | None = None
    fault: FaultOrClear


def _step_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        for key in ACTION_KEYS:
            if key in value:
                return key
        return None
    if isinstance(value, BaseModel):
        for key in ACTION_KEYS:
            if hasattr(value, key):
                return key
    return None


Step = Annotated[
    Annotated[RequestStep, Tag("request")]
    | Annotated[ControlPlaneStep, Tag("control_plane")]
    | Annotated[WaitStep, Tag("wait")]
    | Annotated[EventuallyStep, Tag("eventually")]
    | Annotated[AnalyticsStep, Tag("analytics")]
    | Annotated[FaultStep, Tag("fault")]
    | Annotated[ApiInstanceStep, Tag("api_instance")]
    | Annotated[AdapterStep, Tag("adapters")]
    | Annotated[StateDirStep, Tag("state_dir")]
    | Annotated[IdentityProviderStep, Tag("identity_provider")]
    | Annotated[PlatformCallsStep, Tag("platform_calls")],
    Discriminator(_step_kind),
]
"""Any step; which one is decided by its action key."""

StepKind = Literal[
    "request",
    "control_plane",
    "wait",
    "eventually",
    "analytics",
    "fault",
    "api_instance",
    "adapter",
    "state_dir",
    "identity_provider",
    "platform_calls",
]
