"""The recorder: every request and response the proxy carries between the adapter and the
platform, kept until taken, then handed out as a redacted cassette (the JSON shape of
``fake_anypoint.cassette.Cassette``)."""

from __future__ import annotations

import base64
import datetime
import secrets
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .redact import ALGORITHM, Redactor

FORMAT = "asmkit-cassette/1"
MAX_INTERACTIONS = 50_000
MAX_BODY_BYTES = 4 * 1024 * 1024
"""Bodies are kept up to this size (after decompression); longer ones are cut and marked."""


@dataclass
class Message:
    """One side of an exchange as seen on the wire (the body still content-encoded)."""

    headers: list[tuple[str, str]]
    body: bytes
    method: str = ""
    path: str = ""
    query: list[tuple[str, str]] = field(default_factory=list)
    status: int = 0


def decode_body(raw: bytes, encoding: str) -> tuple[bytes, bool, str]:
    """(decoded body, truncated?, content-encoding still applied). gzip and deflate are
    inflated with a bound, so a compression bomb cannot blow up the recorder."""
    encoding = encoding.strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        wbits = 47 if encoding != "deflate" else 15
        inflater = zlib.decompressobj(wbits)
        try:
            out = inflater.decompress(raw, MAX_BODY_BYTES + 1)
        except zlib.error:
            return raw[:MAX_BODY_BYTES], len(raw) > MAX_BODY_BYTES, encoding
        return out[:MAX_BODY_BYTES], len(out) > MAX_BODY_BYTES, ""
    if encoding in ("", "identity"):
        return raw[:MAX_BODY_BYTES], len(raw) > MAX_BODY_BYTES, ""
    return raw[:MAX_BODY_BYTES], len(raw) > MAX_BODY_BYTES, encoding


def _header(headers: list[tuple[str, str]], name: str) -> str:
    return next((v for k, v in headers if k.lower() == name), "")


class Recorder:
    """Collects exchanges while ``on``; ``take`` returns them as a cassette and starts afresh."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self.on = False
        self.hosts: dict[str, str] = {}
        self.exchanges: list[dict[str, Any]] = []
        self.dropped = 0
        self.started_wall = time.time()

    def start(self, hosts: dict[str, str]) -> None:
        self.on = True
        self.hosts = dict(hosts)
        self.exchanges = []
        self.dropped = 0
        self.started_wall = time.time()

    def add(
        self,
        *,
        host: str,
        started: float,
        request: Message,
        response: Message | None,
        error: str | None = None,
        fault: str | None = None,
    ) -> None:
        if not self.on:
            return
        if len(self.exchanges) >= MAX_INTERACTIONS:
            self.dropped += 1
            return
        self.exchanges.append(
            {
                "started": started,
                "duration_s": round(max(0.0, self._now() - started), 6),
                "host": host.lower(),
                "request": request,
                "response": response,
                "error": error,
                "fault": fault,
            }
        )

    def take(self, salt: str | None = None) -> dict[str, Any]:
        """The cassette so far (redacted); recording goes on with an empty tape."""
        exchanges, self.exchanges = self.exchanges, []
        redactor = Redactor(salt or secrets.token_hex(16))
        bodies = [_bodies(e) for e in exchanges]
        for exchange, (request_body, response_body) in zip(exchanges, bodies, strict=True):
            _learn(redactor, exchange, request_body, response_body)
        first = exchanges[0]["started"] if exchanges else 0.0
        interactions = [
            _interaction(redactor, e, first, request_body, response_body)
            for e, (request_body, response_body) in zip(exchanges, bodies, strict=True)
        ]
        recorded_at = datetime.datetime.fromtimestamp(self.started_wall, datetime.UTC)
        return {
            "format": FORMAT,
            "recorded_at": recorded_at.isoformat(timespec="seconds"),
            "hosts": dict(self.hosts),
            "redaction": {
                "algorithm": ALGORITHM,
                "salt": redactor.salt,
                "counts": dict(redactor.counts),
            },
            "dropped": self.dropped,
            "interactions": interactions,
        }


Body = tuple[str, bool, bool, str]
"""(text or base64, is base64, truncated, content-encoding left in place)."""


def _body(message: Message) -> Body:
    raw, truncated, encoding = decode_body(
        message.body, _header(message.headers, "content-encoding")
    )
    if not encoding:
        try:
            return raw.decode("utf-8"), False, truncated, ""
        except UnicodeDecodeError:
            pass
    return base64.b64encode(raw).decode(), True, truncated, encoding


def _bodies(exchange: dict[str, Any]) -> tuple[Body, Body | None]:
    response = exchange["response"]
    return _body(exchange["request"]), _body(response) if response is not None else None


def _learn(
    redactor: Redactor, exchange: dict[str, Any], request: Body, response: Body | None
) -> None:
    message: Message = exchange["request"]
    redactor.learn_path(message.path)
    redactor.learn_pairs(message.query)
    if not request[1]:
        redactor.learn_body(request[0], _header(message.headers, "content-type"))
    if response is not None and not response[1]:
        redactor.learn_body(response[0], _header(exchange["response"].headers, "content-type"))


def _side(redactor: Redactor, message: Message, body: Body) -> dict[str, Any]:
    text, is_base64, truncated, encoding = body
    content_type = _header(message.headers, "content-type")
    headers = [(k, v) for k, v in message.headers if k.lower() != "content-encoding" or encoding]
    side: dict[str, Any] = {
        "headers": [list(pair) for pair in redactor.scrub_headers(headers)],
        "body": text if is_base64 else redactor.scrub_body(text, content_type),
    }
    if is_base64:
        side["body_base64"] = True
    if truncated:
        side["truncated"] = True
    return side


def _interaction(
    redactor: Redactor,
    exchange: dict[str, Any],
    first: float,
    request_body: Body,
    response_body: Body | None,
) -> dict[str, Any]:
    request: Message = exchange["request"]
    recorded: dict[str, Any] = {
        "at": round(exchange["started"] - first, 6),
        "duration_s": exchange["duration_s"],
        "host": exchange["host"],
        "request": {
            "method": request.method,
            "path": redactor.scrub(request.path),
            "query": [list(pair) for pair in redactor.scrub_pairs(request.query)],
            **_side(redactor, request, request_body),
        },
    }
    response: Message | None = exchange["response"]
    if response is not None and response_body is not None:
        recorded["response"] = {
            "status": response.status,
            **_side(redactor, response, response_body),
        }
    if exchange["error"]:
        recorded["error"] = redactor.scrub(str(exchange["error"]))
    if exchange["fault"]:
        recorded["fault"] = exchange["fault"]
    return recorded
