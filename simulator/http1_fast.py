"""The load client's common case, quickly: one read that holds exactly one final HTTP/1.1
response whose only framing header is a single Content-Length (what Envoy sends for the echo
upstream's answers). Its header lines are checked as the full parser checks them, but split
only when read (`Http1Response.headers`). Anything else, or anything doubtful (no reason
phrase, Connection or Transfer-Encoding present, a repeated or unusual Content-Length, too
many headers, a bad line, a body too long or too short), returns None and the full bounded
parser (`simulator.http1_parse`) decides: the fast path accepts only what that parser accepts,
and gives the same response. A client keeps the verdicts on the heads it has seen (`Heads`), so
a head that comes again byte for byte is not checked again."""

from __future__ import annotations

import re

from simulator.http1_response import MAX_HEAD, MAX_HEADERS, Http1Response

_TOKEN = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]++"
_OTHER = rb"\r\n(?!(?i:content-length|transfer-encoding|connection):)" + _TOKEN + rb":[^\r\n]*+"
_HEAD = re.compile(
    rb"HTTP/1\.1 ([0-9]{3}) ([^\r\n]*+)(?:%s)*+"
    rb"\r\n(?i:content-length):[ \t]*+([0-9]{1,18})[ \t]*+(?:%s)*+" % (_OTHER, _OTHER)
)
"""A head the fast path takes, up to its blank line: the status line with a reason phrase, then
header lines that are all ``token:`` (as the full parser demands), one of them Content-Length
(digits, blanks around them), none Transfer-Encoding or Connection. Possessive: linear."""
_NO_BODY = (204, 304)
HEADS_KEPT = 256
"""Distinct heads whose verdict a `Heads` keeps (all are dropped when it is full)."""

Plain = tuple[int, str, int]
"""What the fast path needs from a head it takes: status, reason phrase, Content-Length."""
Heads = dict[bytes, Plain]
"""Heads already checked, by their bytes (a connection's answers mostly repeat theirs: only
Envoy's ``date`` and ``x-envoy-upstream-service-time`` change), shared by a client's
connections: the same bytes get the same verdict without the check."""


def plain_head(head: bytes) -> Plain | None:
    """The head (up to its blank line) if the fast path takes it, else None."""
    match = _HEAD.fullmatch(head)
    if match is None or len(head) > MAX_HEAD:
        return None
    if len(head) > 2 * MAX_HEADERS and head.count(b"\r\n") > MAX_HEADERS:
        return None  # (a shorter head cannot have that many lines)
    status = int(match[1])
    if status < 200 or status in _NO_BODY:
        return None
    return status, match[2].decode("latin-1"), int(match[3])


def whole_response(data: bytes, max_body: int, heads: Heads | None = None) -> Http1Response | None:
    """``data`` as one complete final response to a request other than HEAD, or None (take
    the full parser); ``heads`` keeps the verdicts on heads seen before."""
    end = data.find(b"\r\n\r\n")
    if end < 0 or end > MAX_HEAD:
        return None
    head = data[:end]
    plain = heads.get(head) if heads is not None else None
    if plain is None:
        plain = plain_head(head)
        if plain is None:
            return None
        if heads is not None:
            if len(heads) >= HEADS_KEPT:
                heads.clear()
            heads[head] = plain
    status, reason, length = plain
    if length > max_body or len(data) - end - 4 != length:
        return None
    response = Http1Response(status, reason, head, True, None)
    response.body = data[end + 4 :]
    return response
