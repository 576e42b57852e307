"""The network-fault model: what the proxy does to the adapter-platform link, on which host and
endpoint, and when (``after`` and ``lasting`` from the moment it is applied). One pydantic model,
embedded by the scenario fault step and sent to the proxy as plain JSON."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from common.durations import Duration

NetworkFaultKind = Literal[
    "latency",
    "bandwidth",
    "stall",
    "reset",
    "truncated_gzip",
    "tls_handshake_failure",
    "wrong_host_certificate",
    "expired_certificate",
    "goaway",
    "dns_failure",
]
REQUEST_KINDS = ("latency", "bandwidth", "stall", "reset", "truncated_gzip")
"""Kinds the proxy decides per request: they can be narrowed to a method and a path."""
MAX_BYTES_PER_SECOND = 1_000_000_000


class NetworkFault(BaseModel):
    """One fault on the link between the adapter and a platform host.

    - ``latency``: hold each request ``latency`` plus a seeded uniform share of ``jitter``.
    - ``bandwidth``: move bodies at ``bytes_per_second`` (the request body is held for its
      transfer time, the answer's body trickles).
    - ``stall``: send the answer's status and headers, then nothing for ``hold``, then close.
    - ``reset``: send the headers and ``cut_after`` body bytes (default half), then cut the
      connection (a TCP reset upstream of mitmproxy; the adapter's connection closes mid-body).
    - ``truncated_gzip``: the answer arrives gzip-encoded and cut in half.
    - ``tls_handshake_failure``, ``wrong_host_certificate``, ``expired_certificate``: the TLS
      handshake fails, or presents a certificate (signed by the kit CA) for another name or
      whose validity ended; an adapter that goes on is recorded as accepting it.
    - ``goaway``: HTTP/2 clients get GOAWAY before their request is served (HTTP/1.1 clients: the
      connection closes without an answer).
    - ``dns_failure``: the platform host name does not resolve.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: NetworkFaultKind
    name: str = ""
    host: str = Field("*", description="platform, ingest, a host name, or * (every platform host)")
    path: str = Field("*", description="glob on the request path, e.g. '*/contracts*'")
    method: str | None = Field(None, description="only requests with this method")
    latency: Duration = 0.0
    jitter: Duration = 0.0
    bytes_per_second: int | None = Field(None, ge=1, le=MAX_BYTES_PER_SECOND)
    hold: Duration = Field(30.0, le=600.0, description="how long a stalled answer is held")
    cut_after: int | None = Field(None, ge=0, description="body bytes sent before a reset")
    first_n: int | None = Field(None, ge=1, description="act on the first N matches only")
    after: Duration = 0.0
    lasting: Duration | None = None

    @model_validator(mode="after")
    def _coherent(self) -> NetworkFault:
        if self.kind == "latency" and not self.latency and not self.jitter:
            raise ValueError("a latency fault needs latency (e.g. 300ms) and/or jitter")
        if self.kind == "bandwidth" and self.bytes_per_second is None:
            raise ValueError("a bandwidth fault needs bytes_per_second (e.g. 2048)")
        if self.kind not in REQUEST_KINDS and (self.path != "*" or self.method is not None):
            raise ValueError(
                f"{self.kind} acts on whole connections: host can narrow it, path and method not"
            )
        if self.latency > 600 or self.jitter > 600:
            raise ValueError("latency and jitter must be at most 10m")
        return self

    @property
    def label(self) -> str:
        return self.name or f"{self.kind} on {self.host}"

    def window(self, now: float) -> tuple[float, float | None]:
        start = now + self.after
        return start, (start + self.lasting if self.lasting is not None else None)

    def to_wire(self, now: float) -> dict[str, Any]:
        """The proxy's JSON for this fault, its window anchored at ``now`` (monotonic seconds)."""
        start, end = self.window(now)
        return {
            "kind": self.kind,
            "name": self.label,
            "host": self.host,
            "path": self.path,
            "method": self.method,
            "latency_s": self.latency,
            "jitter_s": self.jitter,
            "rate_bps": self.bytes_per_second,
            "hold_s": self.hold,
            "cut_after": self.cut_after,
            "start": start,
            "end": end,
            "first_n": self.first_n,
        }

    def summary(self) -> str:
        delay = f" after {self.after:g}s" if self.after else ""
        window = f" for {self.lasting:g}s" if self.lasting is not None else ""
        where = "" if self.path == "*" else f" {self.path}"
        return f"network {self.kind} on {self.host}{where}{delay}{window}"
