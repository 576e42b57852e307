"""An HTTP/1.1 response as the kit's load client hands it over, and the bounds its parsers
(`simulator.http1_parse`, `simulator.http1_fast`) keep: the head is kept as it came and its
header lines are split only when read (a load run reads the status and the body)."""

from __future__ import annotations

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
