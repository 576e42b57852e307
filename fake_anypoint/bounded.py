"""Bounded request reading: JSON bodies with a nesting limit, and analytics batches whose
gzip is inflated in chunks up to a byte budget and whose events are counted while parsed, so
no request makes the fake hold more than its configured budget.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

from aiohttp import web

MAX_DEPTH = 64
"""How deep request JSON may nest (objects and arrays); deeper is a 400."""
CHUNK = 64 * 1024


class TooLargeError(ValueError):
    """A body over a configured limit (HTTP 413)."""


@dataclass(frozen=True)
class IngestLimits:
    """What one analytics batch may hold once inflated."""

    max_bytes: int = 16 * 1024 * 1024
    max_events: int = 50_000

    def __post_init__(self) -> None:
        if self.max_bytes < 1 or self.max_events < 1:
            raise ValueError(
                f"ingest limits: max_bytes={self.max_bytes} and max_events={self.max_events} "
                "must both be at least 1"
            )


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number; send finite numbers")


def loads(raw: bytes | str, what: str = "body") -> Any:
    """JSON with at most ``MAX_DEPTH`` levels of nesting and no NaN or Infinity; ValueError
    naming ``what``."""
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError(f"{what}: JSON nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, a NaN
        raise ValueError(f"{what}: malformed JSON ({exc})") from None
    check_depth(data, what)
    return data


def check_depth(data: Any, what: str = "body") -> None:
    """ValueError when ``data`` nests deeper than ``MAX_DEPTH`` (checked without recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise ValueError(f"{what}: JSON nested deeper than {MAX_DEPTH} levels")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


async def read_json(request: web.Request) -> Any:
    """The request body as JSON; ValueError (400) naming the problem."""
    raw = await request.read()
    if not raw:
        raise ValueError("body: empty; send a JSON document")
    return loads(raw)


def inflate(raw: bytes, encoding: str, limits: IngestLimits) -> bytes:
    """The batch body, gunzipped in chunks; TooLargeError past ``limits.max_bytes``."""
    if encoding in ("", "identity"):
        data = raw
    elif encoding in ("gzip", "x-gzip"):
        data = _gunzip(raw, limits.max_bytes)
    else:
        raise ValueError(f"Content-Encoding: {encoding!r} is not supported; use gzip")
    if len(data) > limits.max_bytes:
        raise TooLargeError(_too_big(limits.max_bytes))
    return data


def _too_big(limit: int) -> str:
    return f"body: more than {limit} bytes of events once decompressed; send smaller batches"


def _gunzip(raw: bytes, budget: int) -> bytes:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = bytearray()
    pending = raw
    try:
        while pending:
            out += inflater.decompress(pending, CHUNK)
            if len(out) > budget:
                raise TooLargeError(_too_big(budget))
            pending = inflater.unconsumed_tail
            if inflater.eof:
                break
        if not inflater.eof:
            raise ValueError("body: Content-Encoding gzip but the gzip data is truncated")
    except zlib.error as exc:
        raise ValueError(f"body: Content-Encoding gzip but not gzip data ({exc})") from None
    return bytes(out)


def parse_events(data: bytes, limits: IngestLimits) -> list[dict[str, Any]]:
    """A JSON array of event objects, parsed one event at a time: TooLargeError past
    ``limits.max_events``, ValueError for anything but an array of objects."""
    try:
        text = data.decode()
    except UnicodeDecodeError as exc:
        raise ValueError(f"body: malformed JSON ({exc})") from None
    decoder = json.JSONDecoder(parse_constant=_no_constant)
    pos = _skip(text, 0)
    if not text.startswith("[", pos):
        raise ValueError("body: expected a JSON array of event objects")
    pos = _skip(text, pos + 1)
    events: list[dict[str, Any]] = []
    if text.startswith("]", pos):
        return _end(text, pos + 1, events)
    while True:
        if len(events) >= limits.max_events:
            raise TooLargeError(
                f"body: more than {limits.max_events} events in one batch; send smaller batches"
            )
        try:
            event, pos = decoder.raw_decode(text, pos)
        except RecursionError:
            raise ValueError(f"body: JSON nested deeper than {MAX_DEPTH} levels") from None
        except ValueError as exc:  # JSONDecodeError or a NaN
            raise ValueError(f"body: malformed JSON ({exc})") from None
        if not isinstance(event, dict):
            raise ValueError("body: expected a JSON array of event objects")
        check_depth(event, f"body[{len(events)}]")
        events.append(event)
        pos = _skip(text, pos)
        if text.startswith("]", pos):
            return _end(text, pos + 1, events)
        if not text.startswith(",", pos):
            raise ValueError(f"body: malformed JSON (expected ',' or ']' at char {pos})")
        pos = _skip(text, pos + 1)


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _end(text: str, pos: int, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if _skip(text, pos) != len(text):
        raise ValueError(f"body: malformed JSON (extra data at char {pos})")
    return events
