"""HTTP/1.1 requests on the wire for the kit's load client: the request line as UTF-8, each
header value as `simulator.headers.wire_bytes` puts it on the wire (latin-1 when it can be, so a
scenario's ``"\\xFF"`` is the byte 0xFF, as the gRPC model assumes), refusing CR or LF anywhere
(no header injection); ``content-length`` as aiohttp sends it; in one piece or in two, so that a
caller can add a header line between them."""

from __future__ import annotations

from simulator.headers import wire_bytes

BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
"""Methods sent without ``content-length: 0`` when they have no body (the others get it, as
aiohttp sends them)."""


def _check(text: str, what: str) -> None:
    if "\r" in text or "\n" in text:
        raise ValueError(f"HTTP request {what} {text[:60]!r} contains CR or LF: remove them")


def encode_request(
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes = b"",
    *,
    version: str = "HTTP/1.1",
    default_host: str | None = None,
) -> bytes:
    """The request's bytes: headers as given (`wire_bytes`), ``host: default_host`` first when they
    have no Host, ``content-length`` unless present for a body or a method other than GET,
    HEAD, OPTIONS, TRACE (as aiohttp sends them). CR or LF anywhere is a ValueError."""
    head, tail = encode_parts(
        method, target, headers, body, version=version, default_host=default_host
    )
    return head + tail


def encode_parts(
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes = b"",
    *,
    version: str = "HTTP/1.1",
    default_host: str | None = None,
) -> tuple[bytes, bytes]:
    """`encode_request` in two parts, the request line with the given headers, then the rest
    (``content-length`` when sent, the blank line, the body): a caller may put a header line
    of its own between them."""
    _check(method, "method")
    _check(target, "target")
    if " " in method or " " in target or not method or not target:
        raise ValueError(f"HTTP request line {method!r} {target!r}: no spaces, neither empty")
    lines = [f"{method} {target} {version}\r\n", ""]
    has_length = has_host = False
    for name, value in headers:
        _check(name, "header name")
        _check(value, "header value")
        if not name or ":" in name or " " in name:
            raise ValueError(f"HTTP header name {name!r} is not a valid token")
        low = name.lower()
        has_length = has_length or low == "content-length"
        has_host = has_host or low == "host"
        lines.append(f"{name}: {value}\r\n")
    if not has_host and default_host:
        lines[1] = f"host: {default_host}\r\n"
    tail = "\r\n"
    if not has_length and (body or method.upper() not in BODYLESS_METHODS):
        tail = f"content-length: {len(body)}\r\n\r\n"
    text = "".join(lines)
    if text.isascii():
        head = text.encode("ascii")
    else:  # the request line as UTF-8; each header line on its own, as its value goes
        head = lines[0].encode("utf-8") + b"".join(wire_bytes(line) for line in lines[1:])
    return head, tail.encode("ascii") + body
