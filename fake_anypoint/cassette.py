"""The cassette: a recording of an adapter's platform traffic (every request and response,
redacted), written by the proxy's recorder and served back by the fake control plane. One
pydantic model, the JSON Schema published from it, and loading with clear errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

CASSETTE_FORMAT = "asmkit-cassette/1"
SCHEMA_NAME = "scenarios/cassette.schema.json"
MAX_INTERACTIONS = 50_000
MAX_FILE_BYTES = 512 * 1024 * 1024

HostRole = Literal["platform", "ingest"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RecordedRequest(_Strict):
    """What the adapter sent. ``path`` has no query; bodies are text, or base64 when binary."""

    method: str = Field(min_length=1, max_length=16)
    path: str = Field(pattern=r"^/")
    query: list[tuple[str, str]] = Field(default_factory=list)
    headers: list[tuple[str, str]] = Field(default_factory=list)
    body: str = ""
    body_base64: bool = False
    truncated: bool = Field(False, description="the body was longer than the recorder keeps")


class RecordedResponse(_Strict):
    """What the platform answered (content-encoding undone unless the body is base64)."""

    status: int = Field(ge=100, le=599)
    headers: list[tuple[str, str]] = Field(default_factory=list)
    body: str = ""
    body_base64: bool = False
    truncated: bool = False

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)


class Interaction(_Strict):
    """One exchange, ``at`` seconds after the cassette's first one."""

    at: float = Field(ge=0)
    duration_s: float = Field(0.0, ge=0)
    host: str = Field(min_length=1)
    request: RecordedRequest
    response: RecordedResponse | None = None
    error: str | None = Field(None, description="why there was no answer (connection failed...)")
    fault: str | None = Field(None, description="the network fault the proxy applied, if any")


class Redaction(_Strict):
    """How the cassette was redacted. Secrets are ``<redacted>``; client, organization and
    environment ids are replaced by keyed-hash pseudonyms (``salt``), the same everywhere."""

    algorithm: str
    salt: str
    counts: dict[str, int] = Field(default_factory=dict)


class Cassette(_Strict):
    """A recording of one adapter's conversation with the platform hosts."""

    format: Literal["asmkit-cassette/1"]
    recorded_at: str
    hosts: dict[str, HostRole] = Field(description="host name -> platform or ingest")
    redaction: Redaction
    dropped: int = Field(0, ge=0, description="exchanges not kept (over the recorder's limit)")
    interactions: list[Interaction] = Field(default_factory=list, max_length=MAX_INTERACTIONS)

    def role_of(self, host: str) -> HostRole:
        return self.hosts.get(host.lower(), "platform")


class CassetteError(ValueError):
    """A cassette file that cannot be used; the message names the file, the field and the fix."""


def parse_cassette(data: Any, source: str = "cassette") -> Cassette:
    try:
        return Cassette.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"  {source}: {'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}"
            for e in exc.errors()[:10]
        ]
        raise CassetteError(
            f"{source} is not a valid cassette ({CASSETTE_FORMAT}, schema {SCHEMA_NAME}):\n"
            + "\n".join(problems)
        ) from None


def load_cassette(path: Path) -> Cassette:
    """Read and validate a cassette file; ``CassetteError`` says what is wrong."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CassetteError(f"{path}: {size} bytes is over the {MAX_FILE_BYTES} byte limit")
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CassetteError(f"cannot read cassette {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CassetteError(f"{path} is not JSON: {exc}") from None
    return parse_cassette(data, str(path))


def write_cassette(cassette: Cassette, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(cassette.model_dump_json(indent=1) + "\n", encoding="utf-8")
    return path
