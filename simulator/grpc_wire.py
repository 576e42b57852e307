"""gRPC over HTTP/2 as the kit's own client speaks it: status codes and their names, the
length-prefixed message framing, the ``grpc-timeout`` header, and the gRPC spec's mappings from
an HTTP ``:status`` and from an HTTP/2 RST_STREAM error code to a gRPC status."""

from __future__ import annotations

import struct
from urllib.parse import unquote

CODE_NAMES = (
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
)
OK, CANCELLED, UNKNOWN, DEADLINE_EXCEEDED = 0, 1, 2, 4
PERMISSION_DENIED, RESOURCE_EXHAUSTED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE = 7, 8, 12, 13, 14
UNAUTHENTICATED = 16

MAX_MESSAGE = 4 * 1024 * 1024
"""Bytes of one response message (grpc's default receive limit)."""
MAX_STATUS_MESSAGE = 1024
"""Characters of a ``grpc-message`` kept for an error."""


def code_name(code: int) -> str:
    return CODE_NAMES[code] if 0 <= code < len(CODE_NAMES) else f"CODE_{code}"


class GrpcError(Exception):
    """A unary call that ended with a status other than OK."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code_name(code)}: {message}")
        self.code = code
        self.message = message

    @property
    def name(self) -> str:
        return code_name(self.code)


_HTTP_TO_GRPC = {
    400: INTERNAL,
    401: UNAUTHENTICATED,
    403: PERMISSION_DENIED,
    404: UNIMPLEMENTED,
    429: UNAVAILABLE,
    502: UNAVAILABLE,
    503: UNAVAILABLE,
    504: UNAVAILABLE,
}


def http_status_code(status: int) -> int:
    """The gRPC code for a response whose ``:status`` is not 200 (gRPC's
    http-grpc-status-mapping.md; every other status is UNKNOWN)."""
    return _HTTP_TO_GRPC.get(status, UNKNOWN)


# HTTP/2 error codes (RFC 9113 §7) to gRPC (PROTOCOL-HTTP2.md, "Errors").
_RST_TO_GRPC = {0x8: CANCELLED, 0xB: RESOURCE_EXHAUSTED, 0xC: PERMISSION_DENIED}
REFUSED_STREAM = 0x7


def rst_stream_code(error_code: int) -> int:
    """The gRPC code for a stream the server reset (REFUSED_STREAM is UNAVAILABLE, retried
    transparently by the client)."""
    if error_code == REFUSED_STREAM:
        return UNAVAILABLE
    return _RST_TO_GRPC.get(error_code, INTERNAL)


def refused_head(status: str, content_type: str | None) -> tuple[int, str] | None:
    """None when a final response head (``:status``, ``content-type``) starts a gRPC answer;
    else the call's status: a non-200 ``:status`` as `http_status_code` maps it, a content
    type other than ``application/grpc[+proto|;...]`` UNKNOWN."""
    if status != "200":
        return http_status_code(int(status)), f"Received http2 header with status: {status}"
    ctype = content_type or ""
    if ctype != "application/grpc" and not ctype.startswith(
        ("application/grpc+", "application/grpc;")
    ):
        return UNKNOWN, f"invalid content-type {ctype[:60]!r}"
    return None


def unary_result(
    grpc_status: str | None, grpc_message: str | None, body: bytes
) -> tuple[int, str, bytes]:
    """A unary call's outcome from its trailers and its response body: (code, message,
    response message); OK needs exactly one message in the body."""
    if grpc_status is None or not grpc_status.isdigit() or len(grpc_status) > 3:
        return UNKNOWN, f"grpc-status {grpc_status!r} missing or invalid", b""
    code = int(grpc_status)
    if code != OK:
        return (code if code < len(CODE_NAMES) else UNKNOWN), status_message(grpc_message), b""
    message, why = read_message(body)
    return (INTERNAL, why, b"") if message is None else (OK, "", message)


def timeout_value(seconds: float) -> str:
    """A ``grpc-timeout`` value as Envoy writes it: whole milliseconds (rounded up, at least
    1), in seconds, minutes or hours only when milliseconds would take over 8 digits."""
    millis = max(1, -int(-seconds * 1000 // 1))
    if millis < 100_000_000:
        return f"{millis}m"
    for unit, per in (("S", 1000), ("M", 60_000)):
        value = -(-millis // per)
        if value < 100_000_000:
            return f"{value}{unit}"
    return f"{min(-(-millis // 3_600_000), 99_999_999)}H"


def frame_message(message: bytes) -> bytes:
    """One uncompressed length-prefixed message."""
    return struct.pack(">BI", 0, len(message)) + message


def read_message(body: bytes) -> tuple[bytes | None, str]:
    """The single message in a unary response body: (message, "") or (None, why not)."""
    if len(body) < 5:
        return None, f"response body of {len(body)} bytes has no whole message prefix"
    flag, length = struct.unpack_from(">BI", body)
    if flag != 0:
        return None, f"compressed message (flag {flag}) but no compression was offered"
    if len(body) != 5 + length:
        more = "more than one message" if len(body) > 5 + length else "a truncated message"
        came = len(body) - 5
        return None, f"response body holds {more} (prefix says {length} bytes, {came} came)"
    return body[5:], ""


def status_message(raw: str | None) -> str:
    """A ``grpc-message`` value, percent-decoded and bounded."""
    if not raw:
        return ""
    return unquote(raw, errors="replace")[:MAX_STATUS_MESSAGE]
