"""The load client's common case, quickly: one read that holds exactly one final HTTP/1.1
response whose only framing header is a single Content-Length (what Envoy sends for the echo
upstream's answers). Its header lines are checked as the full parser checks them, but split
only when read (`Http1Response.headers`). Anything else, or anything doubtful (no reason
phrase, Connection or Transfer-Encoding present, a repeated or unusual Content-Length, too
many headers, a bad line, a body too long or too short), returns None and the full bounded
parser (`simulator.http1_parse`) decides: the fast path accepts only what that parser accepts,
and gives the same response."""

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


def whole_response(data: bytes, max_body: int) -> Http1Response | None:
    """``data`` as one complete final response to a request other than HEAD, or None (take
    the full parser)."""
    match = _HEAD.match(data)
    if match is None:
        return None
    end = match.end()
    if end > MAX_HEAD or data[end : end + 4] != b"\r\n\r\n":
        return None
    status, length = int(match[1]), int(match[3])
    if status < 200 or status in _NO_BODY or length > max_body or len(data) - end - 4 != length:
        return None
    if end > 2 * MAX_HEADERS and data.count(b"\r\n", 0, end) > MAX_HEADERS:
        return None  # (a shorter head cannot have that many lines)
    response = Http1Response(status, match[2].decode("latin-1"), data[:end], True, None)
    response.body = data[end + 4 :]
    return response
