"""`AdapterSettings`: everything the live reference adapter needs to start, validated, with the
Mule gateway's defaults (policies 60 s, contracts 15 s, keep-alive 15 s, analytics 5 s)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class AdapterSettings(BaseModel):
    """Settings of one `ReferenceAdapter`. ``grpc_port``: 0 = ephemeral, None = no gRPC face;
    ``http_port``: same for the HTTP service-mode face (off by default). ``redis_url``
    (``redis://host:port/db``) shares ``clusterizable`` rate-limit quotas between replicas;
    without it they are counted in memory."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    platform_url: str
    ingest_url: str
    client_id: str
    client_secret: str
    org_id: str
    env_id: str
    adapter_id: str = "reference-adapter"
    grpc_port: int | None = Field(default=0, ge=0, le=65535)
    http_port: int | None = Field(default=None, ge=0, le=65535)
    http_path_prefix: str = ""
    host: str = "127.0.0.1"
    policies_interval_s: float = Field(default=60.0, gt=0)
    contracts_interval_s: float = Field(default=15.0, gt=0)
    keepalive_interval_s: float = Field(default=15.0, gt=0)
    analytics_interval_s: float = Field(default=5.0, gt=0)
    analytics_batch_size: int = Field(default=500, ge=1)
    analytics_buffer_capacity: int = Field(default=50_000, ge=1)
    analytics_retry_base_s: float = Field(default=1.0, gt=0)
    analytics_retry_max_s: float = Field(default=60.0, gt=0)
    gatekeeper: Literal["strict", "flexible", "disabled"] = "flexible"
    cache_dir: Path | None = None
    redis_url: str | None = None
    seed: int | None = None
    request_timeout_s: float = Field(default=10.0, gt=0)
    sync_backoff_base_s: float = Field(default=0.5, gt=0)
    sync_backoff_max_s: float | None = Field(default=None, gt=0)
    stop_flush_timeout_s: float = Field(default=10.0, gt=0)

    @field_validator(
        "grpc_port",
        "http_port",
        "cache_dir",
        "redis_url",
        "seed",
        "sync_backoff_max_s",
        mode="before",
    )
    @classmethod
    def _none_words(cls, value: object) -> object:
        """Templated profiles may say ``""``, ``none``, ``off`` or ``null`` for "not set"."""
        if isinstance(value, str) and value.strip().lower() in ("", "none", "off", "null"):
            return None
        return value

    @model_validator(mode="after")
    def _check(self) -> AdapterSettings:
        if self.analytics_buffer_capacity < self.analytics_batch_size:
            raise ValueError(
                f"analytics_buffer_capacity={self.analytics_buffer_capacity} is smaller than "
                f"analytics_batch_size={self.analytics_batch_size}: raise the capacity"
            )
        for name in ("platform_url", "ingest_url"):
            value = getattr(self, name)
            if not value.startswith(("http://", "https://")):
                raise ValueError(f"{name}={value!r} is invalid: expected an http(s):// URL")
        return self
