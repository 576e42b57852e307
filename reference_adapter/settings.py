"""`ReferenceAdapterConfig`: everything the live reference adapter needs to start: where the
control plane is, its credentials and faces, plus the kit-wide `AdapterSettings` (sync
intervals, gatekeeper, analytics), validated, with the Mule gateway's defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator

from common.adapter_settings import AdapterSettings
from common.durations import Duration


class ReferenceAdapterConfig(AdapterSettings):
    """Configuration of one `ReferenceAdapter`. ``grpc_port``: 0 = ephemeral, None = no gRPC
    face; ``http_port``: same for the HTTP service-mode face (off by default); ``metrics_port``:
    the Prometheus ``/metrics`` endpoint (off by default). ``redis_url``
    (``redis://host:port/db``) shares ``clusterizable`` rate-limit quotas between replicas;
    without it they are counted in memory."""

    platform_url: str
    ingest_url: str
    client_id: str
    client_secret: str = Field(repr=False)
    org_id: str
    env_id: str
    adapter_id: str = "reference-adapter"
    grpc_port: int | None = Field(default=0, ge=0, le=65535)
    http_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    http_path_prefix: str = ""
    host: str = "127.0.0.1"
    cache_dir: Path | None = None
    redis_url: str | None = None
    seed: int | None = None
    stop_flush_timeout: Duration = Field(default=10.0, gt=0)

    @field_validator(
        "grpc_port",
        "http_port",
        "metrics_port",
        "cache_dir",
        "redis_url",
        "seed",
        "sync_backoff_max",
        mode="before",
    )
    @classmethod
    def _none_words(cls, value: object) -> object:
        """Templated profiles may say ``""``, ``none``, ``off`` or ``null`` for "not set"."""
        if isinstance(value, str) and value.strip().lower() in ("", "none", "off", "null"):
            return None
        return value

    @model_validator(mode="after")
    def _urls(self) -> ReferenceAdapterConfig:
        for name in ("platform_url", "ingest_url"):
            value = getattr(self, name)
            if not value.startswith(("http://", "https://")):
                raise ValueError(f"{name}={value!r} is invalid: expected an http(s):// URL")
        return self
