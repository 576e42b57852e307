"""An HTTP/1.1 response as the kit's load client hands it over (and as `RealEnvoy` hands it on,
a `LazyClientResponse`), and the bounds its parsers (`simulator.http1_parse`,
`simulator.http1_fast`) keep: the head is kept as it came and its header lines are split only
when read (a load run reads the status and the body)."""

from __future__ import annotations

from dataclasses import MISSING, fields

from simulator.model import ClientResponse, Headers

MAX_HEAD = 64 * 1024
"""Bytes of a response's status line and headers."""
MAX_HEADERS = 128
MAX_BODY = 64 * 1024 * 1024


class Http1Response:
    """One response: ``headers`` in order, lowercased names, latin-1 values (split from the
    head, which a parser has checked line by line, on first use)."""

    __slots__ = ("_head", "_headers", "body", "keep_alive", "reason", "status")

    def __init__(
        self,
        status: int,
        reason: str,
        head: bytes,
        keep_alive: bool,
        headers: list[tuple[str, str]] | None,
    ) -> None:
        self.status = status
        self.reason = reason
        self.body = b""
        self.keep_alive = keep_alive
        self._head = head
        self._headers = headers

    @property
    def headers(self) -> list[tuple[str, str]]:
        if self._headers is None:
            self._headers = [(name.lower(), value) for name, value in self.raw_headers]
        return self._headers

    @property
    def raw_headers(self) -> list[tuple[str, str]]:
        """The headers with their names as the peer spelled them."""
        headers: list[tuple[str, str]] = []
        for line in self._head.decode("latin-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            headers.append((name, value.strip(" \t")))
        return headers

    def header(self, name: str) -> str | None:
        """The values of ``name`` joined with ',', or None."""
        low = name.lower()
        values = [v for k, v in self.headers if k == low]
        return ",".join(values) if values else None

    def __repr__(self) -> str:
        return f"Http1Response({self.status}, {len(self.body)} bytes)"


_FIELDS = fields(ClientResponse)
_DEFAULTS = {f.name: f.default for f in _FIELDS if f.default is not MISSING}
if {f.name for f in _FIELDS} != {*_DEFAULTS, "status", "headers", "body", "decision"}:
    raise TypeError("LazyClientResponse.of sets status, headers, body, decision: update it")


class LazyClientResponse(ClientResponse):
    """A `ClientResponse` whose headers come from an `Http1Response`, split only when read
    (`RealEnvoy` in load runs, where the status is what counts); equal to a `ClientResponse`
    with the same fields."""

    _source: Http1Response | None = None
    _headers: Headers

    @classmethod
    def of(cls, response: Http1Response, duration_s: float) -> LazyClientResponse:
        """The answer to a request whose decision is not tracked (``skipped``); the other
        fields at their defaults. Built without the dataclass's ``__init__``, which cost
        as much as the rest of `RealEnvoy.handle` around the send."""
        out = cls.__new__(cls)
        attrs = out.__dict__
        attrs.update(_DEFAULTS)
        attrs["status"], attrs["body"] = response.status, response.body
        attrs["decision"], attrs["duration_s"] = "skipped", duration_s
        attrs["_source"] = response
        return out

    @property  # type: ignore[override]
    def headers(self) -> Headers:
        source = self._source
        if source is not None:
            self._headers, self._source = source.headers, None
        return self._headers

    @headers.setter
    def headers(self, value: Headers) -> None:
        self._headers, self._source = value, None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ClientResponse):
            return NotImplemented
        return all(getattr(self, f.name) == getattr(other, f.name) for f in _FIELDS)

    __hash__ = None  # type: ignore[assignment]  # as a dataclass with eq
