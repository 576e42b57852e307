"""The load client's request encoding: framing as aiohttp sends it, header injection refused,
and the two parts a caller may put a header line between."""

from __future__ import annotations

import pytest

from simulator.http1_encode import encode_parts, encode_request


def test_encode_request() -> None:
    assert encode_request("GET", "/a?b=1", [("x-a", "1")], default_host="h:1") == (
        b"GET /a?b=1 HTTP/1.1\r\nhost: h:1\r\nx-a: 1\r\n\r\n"
    )
    assert encode_request("GET", "/", [("Host", "svc")], default_host="h:1") == (
        b"GET / HTTP/1.1\r\nHost: svc\r\n\r\n"
    )
    post = encode_request("POST", "/", [("host", "h")])
    assert post.endswith(b"content-length: 0\r\n\r\n")
    body = encode_request("PUT", "/", [("host", "h")], "é".encode(), version="HTTP/1.0")
    assert body.startswith(b"PUT / HTTP/1.0\r\n")
    assert body.endswith(b"content-length: 2\r\n\r\n\xc3\xa9")
    delete = encode_request("DELETE", "/", [("host", "h")])
    assert delete.endswith(b"content-length: 0\r\n\r\n")  # as aiohttp sends it
    assert b"content-length" not in encode_request("OPTIONS", "/", [("host", "h")])


def test_header_values_go_out_as_the_grpc_model_assumes() -> None:
    """One rule for a header value's bytes (`wire_bytes`): latin-1 when every character fits
    (so ``"\\xFF"`` is the byte 0xFF, which Envoy's gRPC mode turns into '!'), else UTF-8;
    each value on its own."""
    raw = encode_request(
        "GET", "/", [("a", "caf\xe9"), ("b", "\u2713"), ("c", "x\xff")], default_host="h"
    )
    assert raw == b"GET / HTTP/1.1\r\nhost: h\r\na: caf\xe9\r\nb: \xe2\x9c\x93\r\nc: x\xff\r\n\r\n"
    head, tail = encode_parts("GET", "/", [("a", "caf\xe9")], default_host="h")
    assert head.endswith(b"a: caf\xe9\r\n") and tail == b"\r\n"


@pytest.mark.parametrize(
    ("method", "target", "headers"),
    [
        ("GET", "/a\r\nx: 1", []),
        ("GET", "/", [("x-a", "1\r\nset-cookie: evil")]),
        ("GET", "/", [("x-a\n", "1")]),
        ("GET", "/", [("x a", "1")]),
        ("GET", "/ a", []),
        ("", "/", []),
    ],
)
def test_injection_is_refused(method: str, target: str, headers: list[tuple[str, str]]) -> None:
    with pytest.raises(ValueError, match="HTTP"):
        encode_request(method, target, headers)


def test_a_header_line_fits_between_the_parts() -> None:
    head, tail = encode_parts("POST", "/p", [("host", "h"), ("x-a", "1")], b"{}")
    assert head == b"POST /p HTTP/1.1\r\nhost: h\r\nx-a: 1\r\n"
    assert tail == b"content-length: 2\r\n\r\n{}"
    whole = encode_request("POST", "/p", [("host", "h"), ("x-a", "1"), ("x-id", "7")], b"{}")
    assert head + b"x-id: 7\r\n" + tail == whole
    assert encode_parts("GET", "/", [("host", "h")]) == (b"GET / HTTP/1.1\r\nhost: h\r\n", b"\r\n")
