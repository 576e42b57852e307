"""The what-if spec: one YAML file asking one question (traffic, control-plane state, adapter
settings, a timeline of changes and faults, a duration, replications and an optional sweep).
Pydantic models; the loader turns their errors into ``file:line`` problems."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from common.adapter_settings import AdapterSettings
from common.durations import Duration
from fake_anypoint import ControlPlaneSpec, LimitSpec, PolicySpec
from simulator.whatif.timeline import TimelineEvent


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


MAX_RATE = 1_000_000.0
"""The highest arrival rate (requests per second) a what-if may ask about."""
MAX_DURATION = 30 * 24 * 3600.0
"""The longest simulated time (30 days)."""
MAX_REQUESTS = 1_000_000_000
"""The most requests one replication may simulate (about an hour of computing)."""
MAX_BINS = 1_000_000
"""The most time-series bins (``duration / bin``)."""


class ArrivalSpec(_Strict):
    """How requests arrive (open model, all clients together).

    - ``constant``: exactly ``rate`` per second, evenly spaced;
    - ``poisson``: exponential gaps with mean ``1/rate``;
    - ``bursts``: Poisson at ``rate``, and at ``burst_rate`` for ``burst_length`` every
      ``burst_every`` (starting at ``burst_every``);
    - ``daily``: Poisson with a cosine daily curve, ``rate * (1 + amplitude*cos(...))`` peaking
      at ``peak_at`` (period ``period``, 24h by default).
    """

    process: Literal["constant", "poisson", "bursts", "daily"] = "poisson"
    rate: float = Field(gt=0, le=MAX_RATE, description="Requests per second (the mean for daily).")
    burst_rate: float | None = Field(None, gt=0, le=MAX_RATE)
    burst_every: Duration | None = None
    burst_length: Duration | None = None
    amplitude: float = Field(0.5, ge=0, le=1)
    peak_at: Duration = 14 * 3600.0
    period: Duration = 24 * 3600.0

    @model_validator(mode="after")
    def _check(self) -> ArrivalSpec:
        if self.process == "bursts" and None in (
            self.burst_rate,
            self.burst_every,
            self.burst_length,
        ):
            raise ValueError(
                "process bursts needs burst_rate, burst_every and burst_length "
                "(e.g. burst_rate: 5000, burst_every: 60s, burst_length: 5s)"
            )
        if self.period <= 0:
            raise ValueError("period must be > 0 (e.g. 24h)")
        return self

    def peak_rate(self) -> float:
        """The highest rate the process reaches (for bounding the work)."""
        if self.process == "bursts" and self.burst_rate is not None:
            return max(self.rate, self.burst_rate)
        if self.process == "daily":
            return self.rate * (1 + self.amplitude)
        return self.rate


Credentials = Literal["valid", "wrong_secret", "missing", "unknown"]


class ClientSpec(_Strict):
    """One kind of caller in the mix. ``application`` is a key of ``control_plane.applications``
    (its credentials are sent) unless ``credentials`` is ``missing`` or ``unknown``."""

    name: str | None = None
    application: str | None = None
    api: str = Field(description="Key of control_plane.apis the requests are for.")
    weight: float = Field(1.0, gt=0, le=1_000_000)
    credentials: Credentials = "valid"
    method: str = "GET"
    paths: list[str] = Field(
        default_factory=lambda: ["/"],
        min_length=1,
        description="Paths drawn per request variant; {n} becomes a seeded number.",
    )

    @model_validator(mode="after")
    def _check(self) -> ClientSpec:
        if self.credentials in ("valid", "wrong_secret") and self.application is None:
            raise ValueError(
                f"credentials {self.credentials} needs application: <key of control_plane."
                "applications> (or use credentials: missing / unknown)"
            )
        return self

    @property
    def label(self) -> str:
        return self.name or self.application or f"{self.credentials}-client"


class TrafficSpec(_Strict):
    """Who calls and how often. ``variants``: distinct requests per client (source address,
    user agent and path drawn with seeded Faker)."""

    arrival: ArrivalSpec
    clients: list[ClientSpec] = Field(min_length=1)
    variants: int = Field(8, ge=1, le=10_000)
    until: Duration | None = Field(
        None, description="Traffic stops here (default: the end), e.g. to let analytics drain."
    )


class ServiceTimeSpec(_Strict):
    """The adapter's time to decide one check, per worker: ``exponential``, ``constant`` or
    ``lognormal`` (``sigma`` is the log-space spread) with mean ``mean``."""

    distribution: Literal["exponential", "constant", "lognormal"] = "exponential"
    mean: Duration = Field(0.0002, le=60)
    sigma: float = Field(0.5, gt=0, le=10)


class AdapterSpec(AdapterSettings):
    """The adapters under study: the kit-wide adapter settings (intervals, gatekeeper,
    analytics batching and retry; Mule defaults) plus replicas, balancing and capacity."""

    replicas: int = Field(1, ge=1, le=64)
    balancing: Literal["random", "round_robin", "sticky"] = "random"
    quota: Literal["per_replica", "shared"] = Field(
        "per_replica",
        description="Rate-limit counters per replica, or one store for all (clusterizable "
        "policies, as with Redis).",
    )
    random_phase: bool = Field(
        True, description="Each replica's sync loops start at a random point of their interval."
    )
    jitter: float = Field(0.2, ge=0, lt=1)
    workers: int = Field(4, ge=1, le=1024, description="Checks decided in parallel per replica.")
    service_time: ServiceTimeSpec = ServiceTimeSpec()
    check_timeout: Duration = Field(0.2, le=3600, description="Envoy's ext_authz timeout.")


class LatencySpec(_Strict):
    """Round-trip time of one control-plane or ingest call when nothing is wrong."""

    control_plane: Duration = Field(0.02, le=3600)
    ingest: Duration = Field(0.02, le=3600)


class SweepSpec(_Strict):
    """Run the question once per value of one setting (a dotted path into this file, list
    indexes as numbers: ``adapter.contracts_interval``, ``traffic.clients.0.weight``)."""

    setting: str = Field(min_length=1)
    values: list[Any] = Field(min_length=1)


class WhatIfSpec(_Strict):
    """One what-if question."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="Equals the file stem.")
    question: str = Field(min_length=1, description="The question, in one or two sentences.")
    seed: int = Field(0, ge=0)
    duration: Duration = Field(le=MAX_DURATION)
    warmup: Duration = Field(0.0, description="Excluded from the metrics.")
    replications: int = Field(3, ge=1, le=1000)
    bin: Duration = Field(1.0, description="Width of the time-series bins.")
    control_plane: ControlPlaneSpec
    adapter: AdapterSpec = AdapterSpec()
    latency: LatencySpec = LatencySpec()
    traffic: TrafficSpec
    timeline: list[TimelineEvent] = Field(default_factory=list)
    sweep: SweepSpec | None = None

    @model_validator(mode="after")
    def _check(self) -> WhatIfSpec:
        if self.duration <= 0:
            raise ValueError("duration must be > 0 (e.g. 10m)")
        if self.warmup >= self.duration:
            raise ValueError(f"warmup ({self.warmup}s) must be shorter than duration")
        if self.bin <= 0:
            raise ValueError("bin must be > 0 (e.g. 1s)")
        if self.duration / self.bin > MAX_BINS:
            raise ValueError(
                f"duration / bin is {self.duration / self.bin:,.0f} time-series bins, more than"
                f" {MAX_BINS:,}: use a wider bin (e.g. {self.duration / MAX_BINS:g}s or more)"
            )
        requests = self.traffic.arrival.peak_rate() * self.duration
        if requests > MAX_REQUESTS:
            raise ValueError(
                f"traffic.arrival at up to {self.traffic.arrival.peak_rate():g}/s for a duration"
                f" of {self.duration:g}s is about {requests:,.0f} requests per replication, more"
                f" than the {MAX_REQUESTS:,} a what-if simulates: shorten the duration or lower"
                " the rate"
            )
        return self


__all__ = [
    "AdapterSpec",
    "ArrivalSpec",
    "ClientSpec",
    "LatencySpec",
    "LimitSpec",
    "PolicySpec",
    "ServiceTimeSpec",
    "SweepSpec",
    "TrafficSpec",
    "WhatIfSpec",
]
