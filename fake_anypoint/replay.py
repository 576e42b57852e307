"""Serving a cassette: the fake answers from a recording, matched by method, path template and
query parameter names, following the recording's timeline.

- ``scope="unknown"``: only endpoints the fake does not implement come from the recording.
- ``scope="reads"``: also every GET the recording has, so the adapter sees the recorded platform;
  writes (log in, keep-alive, analytics) still reach the fake, which keeps what they carry.

Timeline: the first request anchors the recording's clock. For each endpoint the answers are
served in recorded order, each one no earlier than it was recorded; when no newer answer is due
the last one is repeated. ``If-None-Match`` against a served answer's ETag gives 304.

Redacted values: a cassette never holds a secret. When the fake answers the same request itself,
each ``<redacted>`` in the recorded JSON is filled from the fake's own answer at the same place
(list items matched by their id), so a fake seeded like the recorded one replays its recording
in full; otherwise ``<redacted>`` stays.
"""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from .cassette import Cassette, HostRole, Interaction

ReplayScope = Literal["unknown", "reads"]
Key = tuple[str, str, str, tuple[str, ...]]
READ_METHODS = ("GET", "HEAD")
DROP_HEADERS = frozenset(
    ("content-length", "transfer-encoding", "connection", "keep-alive", "date", "server")
)
_NUMBER = re.compile(r"^\d+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_HEX = re.compile(r"^[0-9a-fA-F]{16,}$")
_PSEUDONYM = re.compile(r"^id-[0-9a-f]{16}$")
REDACTED = "<redacted>"
ID_KEYS = ("id", "contractId", "applicationId", "policyId", "apiId", "tierId", "clientId")
MAX_DEPTH = 64


def path_template(path: str) -> str:
    """``/apis/42/contracts`` -> ``/apis/{n}/contracts``: ids (numbers, UUIDs, long hex,
    pseudonyms) become placeholders so a recording matches a replay with other ids."""
    parts = []
    for segment in path.split("/"):
        if _NUMBER.match(segment):
            parts.append("{n}")
        elif _UUID.match(segment):
            parts.append("{uuid}")
        elif _HEX.match(segment) or _PSEUDONYM.match(segment):
            parts.append("{id}")
        else:
            parts.append(segment)
    return "/".join(parts)


def match_key(role: str, method: str, path: str, query_names: list[str], *, exact: bool) -> Key:
    shape = path if exact else path_template(path)
    return role, method.upper(), shape, tuple(sorted(set(query_names)))


@dataclass(frozen=True)
class ReplayAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    at: float

    @property
    def redacted(self) -> bool:
        """The body still holds redacted values (``fill_redacted`` can complete it)."""
        return REDACTED.encode() in self.body


def fill_redacted(recorded: bytes, own: bytes) -> bytes:
    """``recorded`` (JSON) with each ``<redacted>`` string replaced by the value at the same
    place in ``own`` (the fake's answer); unchanged when either is not JSON."""
    try:
        before, current = json.loads(recorded), json.loads(own)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return recorded
    return json.dumps(_fill(before, current, 0), separators=(",", ":")).encode()


def _fill(recorded: object, own: object, depth: int) -> object:
    if recorded == REDACTED:
        return own if own is not None and depth > 0 else recorded
    if depth > MAX_DEPTH:
        return recorded
    if isinstance(recorded, dict):
        fields = own if isinstance(own, dict) else {}
        return {k: _fill(v, fields.get(k), depth + 1) for k, v in recorded.items()}
    if isinstance(recorded, list):
        items: list[object] = own if isinstance(own, list) else []
        by_id = {_item_id(item): item for item in items if _item_id(item) is not None}
        return [
            _fill(item, by_id.get(_item_id(item)) if by_id else _at(items, i), depth + 1)
            for i, item in enumerate(recorded)
        ]
    return recorded


def _item_id(item: object) -> object:
    if isinstance(item, dict):
        for key in ID_KEYS:
            if key in item and isinstance(item[key], str | int):
                return (key, item[key])
    return None


def _at(items: list[object], index: int) -> object:
    return items[index] if index < len(items) else None


def _usable(item: Interaction) -> bool:
    response = item.response
    if response is None or item.fault or item.error or response.truncated:
        return False
    return response.status != 304


@dataclass
class Replayer:
    """Answers requests from one cassette (shared by the platform and ingest origins)."""

    cassette: Cassette
    now: Callable[[], float]
    scope: ReplayScope = "unknown"
    reidentify: Callable[[], Mapping[str, str]] | None = None
    """Pseudonym -> real id, for recordings of this very fake (same seed): see ``docs/proxy.md``."""
    anchor: float | None = None
    unimplemented: Counter[tuple[str, str]] = field(default_factory=Counter)
    served: Counter[tuple[str, str]] = field(default_factory=Counter)
    _index: dict[Key, list[Interaction]] = field(default_factory=dict)
    _position: dict[Key, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for exact in (True, False):
            grouped: dict[Key, list[Interaction]] = {}
            for item in self.cassette.interactions:
                if not _usable(item):
                    continue
                request = item.request
                names = [name for name, _ in request.query]
                role = self.cassette.role_of(item.host)
                key = match_key(role, request.method, request.path, names, exact=exact)
                grouped.setdefault(key, []).append(item)
            for key, items in grouped.items():
                healthy = [i for i in items if i.response is not None and i.response.status < 500]
                self._index[key] = sorted(healthy or items, key=lambda i: i.at)

    def answer(
        self,
        role: HostRole,
        method: str,
        path: str,
        query_names: list[str],
        headers: Mapping[str, str],
        *,
        known: bool,
    ) -> ReplayAnswer | None:
        """The recorded answer for this request, or None when the fake should answer it.
        The recording's own path (ids pseudonymised as in the cassette) wins over its template."""
        if known and (self.scope == "unknown" or method.upper() not in READ_METHODS):
            return None
        mapping = dict(self.reidentify()) if self.reidentify is not None else {}
        recorded_path = _restore(path, {real: alias for alias, real in mapping.items()})
        key = match_key(role, method, recorded_path, query_names, exact=True)
        items = self._index.get(key)
        if not items:
            key = match_key(role, method, path, query_names, exact=False)
            items = self._index.get(key)
        if not items:
            return None
        if self.anchor is None:
            self.anchor = self.now()
        item = self._pick(key, items, self.now() - self.anchor)
        (self.served if known else self.unimplemented)[(key[1], path_template(path))] += 1
        return self._render(item, headers, mapping)

    def _pick(self, key: Key, items: list[Interaction], offset: float) -> Interaction:
        """The oldest recorded answer not yet served once it is due, else the last served."""
        position = self._position.get(key, -1)
        if position < 0:
            position = 0
        elif position + 1 < len(items) and items[position + 1].at <= offset:
            position += 1
        self._position[key] = position
        return items[position]

    def _render(
        self, item: Interaction, request_headers: Mapping[str, str], mapping: Mapping[str, str]
    ) -> ReplayAnswer:
        response = item.response
        assert response is not None
        etag = response.header("etag")
        wanted = request_headers.get("if-none-match")
        if etag and wanted and _bare(etag) in {_bare(t) for t in wanted.split(",")}:
            return ReplayAnswer(304, [("ETag", etag)], b"", item.at)
        headers = [
            (k, _restore(v, mapping))
            for k, v in response.headers
            if k.lower() not in DROP_HEADERS
            and (k.lower() != "content-encoding" or response.body_base64)
        ]
        headers.append(("x-asmkit-replayed", f"{item.at:.3f}"))
        if response.body_base64:
            body = base64.b64decode(response.body)
        else:
            body = _restore(response.body, mapping).encode()
        return ReplayAnswer(response.status, headers, body, item.at)


def _bare(tag: str) -> str:
    return tag.strip().removeprefix("W/").strip('"')


def _restore(text: str, mapping: Mapping[str, str]) -> str:
    for pseudonym in sorted(mapping, key=len, reverse=True):
        if pseudonym in text:
            text = text.replace(pseudonym, mapping[pseudonym])
    return text
