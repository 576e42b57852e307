"""The adapter settings the kit knows by name: sync intervals, gatekeeper mode, analytics
batching and retry, with the Mule gateway's defaults. One model for every document that names
them: adapter profiles (``sync:``), scenario needs (``adapter:``), what-if specs (``adapter:``)
and the reference adapter's own configuration, which extends it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from common.durations import Duration

Gatekeeper = Literal["strict", "flexible", "disabled"]
"""``flexible``: 503 until the first sync, then the cached state through outages; ``strict``:
503 whenever a sync fails; ``disabled``: never 503 for readiness."""

SyncName = Literal["policies", "contracts", "keepalive", "analytics"]
"""The adapter's periodic loops, by name (``wait: {sync: contracts}``)."""

MAX_BATCH = 100_000
MAX_BUFFER = 10_000_000


class AdapterSettings(BaseModel):
    """Settings an adapter may be given; defaults are the Mule gateway's (research/anypoint.md
    §1, §5.4, §6). The field names are also the profile's ``{placeholders}``."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    policies_interval: Duration = Field(60.0, gt=0, description="Policies poll interval.")
    contracts_interval: Duration = Field(15.0, gt=0, description="Contracts poll interval.")
    keepalive_interval: Duration = Field(15.0, gt=0, description="Keep-alive interval.")
    analytics_interval: Duration = Field(5.0, gt=0, description="Analytics push interval.")
    analytics_batch_size: int = Field(500, ge=1, le=MAX_BATCH, description="Events per batch.")
    analytics_buffer: int = Field(
        50_000, ge=1, le=MAX_BUFFER, description="Events held while the ingest is unreachable."
    )
    analytics_retry_base: Duration = Field(1.0, gt=0, description="First analytics retry.")
    analytics_retry_max: Duration = Field(60.0, gt=0, description="Longest analytics back-off.")
    sync_backoff_base: Duration = Field(0.5, gt=0, description="First retry of a failed sync.")
    sync_backoff_max: Duration | None = Field(
        None, gt=0, description="Longest sync back-off (default max(interval, 30s))."
    )
    request_timeout: Duration = Field(10.0, gt=0, description="Control-plane call timeout.")
    gatekeeper: Gatekeeper = "flexible"

    @model_validator(mode="after")
    def _buffer_holds_a_batch(self) -> AdapterSettings:
        if self.analytics_buffer < self.analytics_batch_size:
            raise ValueError(
                f"analytics_buffer ({self.analytics_buffer}) must be at least "
                f"analytics_batch_size ({self.analytics_batch_size})"
            )
        return self

    def interval(self, sync: SyncName) -> float:
        """The interval of one sync loop."""
        value: float = getattr(self, f"{sync}_interval")
        return value

    def given(self) -> dict[str, object]:
        """The settings a document set explicitly (a scenario's needs), by name."""
        names = set(AdapterSettings.model_fields) & self.model_fields_set
        return {name: getattr(self, name) for name in sorted(names)}

    def with_overrides(self, overrides: dict[str, object]) -> AdapterSettings:
        """These settings with some replaced (validated again)."""
        base = {name: getattr(self, name) for name in AdapterSettings.model_fields}
        return AdapterSettings.model_validate({**base, **overrides})


SETTING_NAMES: tuple[str, ...] = tuple(AdapterSettings.model_fields)
