"""The HTTP/1.1 wire format of the kit's load client: request encoding (no header injection)
and the bounded, incremental response parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.http1_parse import MAX_HEAD, Http1Response, ProtocolError, ResponseParser

PLAIN = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
CHUNKED = (
    b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"
    b"5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n"
)


def parse(data: bytes, *, head: bool = False, pieces: int = 1) -> Http1Response | None:
    parser = ResponseParser(max_body=1000)
    parser.expect(head)
    step = max(1, len(data) // pieces)
    out = None
    for i in range(0, len(data), step):
        got = parser.feed(data[i : i + step])
        assert out is None or got is None, "one response per request"
        out = out or got
    return out


def test_content_length_response() -> None:
    resp = parse(PLAIN)
    assert resp is not None
    assert (resp.status, resp.reason, resp.body, resp.keep_alive) == (200, "OK", b"hello", True)
    assert resp.headers == [("content-type", "text/plain"), ("content-length", "5")]
    assert resp.raw_headers[0] == ("Content-Type", "text/plain")
    assert resp.header("Content-Type") == "text/plain"


def test_chunked_response_with_extensions_and_trailers() -> None:
    resp = parse(CHUNKED)
    assert resp is not None
    assert (resp.status, resp.body, resp.header("x-a")) == (201, b"hello, world", "1")
    assert resp.header("x-trailer") is None  # trailers are dropped


@pytest.mark.parametrize("data", [PLAIN, CHUNKED], ids=["length", "chunked"])
def test_every_split_gives_the_same_response(data: bytes) -> None:
    whole = parse(data)
    assert whole is not None
    for cut in range(1, len(data)):
        parser = ResponseParser()
        parser.expect()
        assert parser.feed(data[:cut]) is None, cut
        got = parser.feed(data[cut:])
        assert got is not None, cut
        assert (got.status, got.body, got.headers) == (whole.status, whole.body, whole.headers)


@given(st.binary(max_size=300), st.integers(min_value=1, max_value=40))
def test_any_body_round_trips_in_any_pieces(body: bytes, pieces: int) -> None:
    chunked = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + 7]), body[i : i + 7]) for i in range(0, len(body), 7)
    )
    for data in (
        b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body),
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + chunked + b"0\r\n\r\n",
    ):
        resp = parse(data, pieces=pieces)
        assert resp is not None and resp.body == body


def test_bodyless_answers() -> None:
    head = parse(b"HTTP/1.1 200 OK\r\ncontent-length: 99\r\n\r\n", head=True)
    assert head is not None and head.body == b""
    for status in (204, 304):
        resp = parse(b"HTTP/1.1 %d X\r\ncontent-length: 3\r\n\r\n" % status)
        assert resp is not None and (resp.status, resp.body) == (status, b"")


def test_interim_answers_are_skipped() -> None:
    data = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n" + PLAIN
    resp = parse(data)
    assert resp is not None and (resp.status, resp.body) == (200, b"hello")
    with pytest.raises(ProtocolError, match="interim"):
        parse(b"HTTP/1.1 100 Continue\r\n\r\n" * 9 + PLAIN)


def test_body_until_close() -> None:
    parser = ResponseParser()
    parser.expect()
    assert parser.feed(b"HTTP/1.1 200 OK\r\nserver: x\r\n\r\npart one, ") is None
    assert parser.feed(b"part two") is None
    resp = parser.eof()
    assert resp is not None
    assert (resp.body, resp.keep_alive) == (b"part one, part two", False)
    # a close before a Content-Length body is complete is not a response
    parser = ResponseParser()
    parser.expect()
    assert parser.feed(PLAIN[:-2]) is None
    assert parser.eof() is None


def test_keep_alive_by_version_and_connection_header() -> None:
    cases = {
        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n": True,
        b"HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 0\r\n\r\n": False,
        b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n": False,
        b"HTTP/1.0 200 OK\r\nconnection: Keep-Alive\r\ncontent-length: 0\r\n\r\n": True,
    }
    for data, keep in cases.items():
        resp = parse(data)
        assert resp is not None and resp.keep_alive is keep, data


def test_bytes_after_the_response_spoil_the_connection() -> None:
    resp = parse(PLAIN + b"HTTP/1.1 200 OK\r\n")
    assert resp is not None and resp.body == b"hello" and resp.keep_alive is False
    parser = ResponseParser()
    with pytest.raises(ProtocolError, match="no request outstanding"):
        parser.feed(PLAIN)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"HTTP/2 200 OK\r\n\r\n", "status line"),
        (b"HTTP/1.1 2000 OK\r\n\r\n", "status line"),
        (b"HTTP/1.1 20x OK\r\n\r\n", "status line"),
        (b"HTTP/1.1 2\xb20 OK\r\n\r\n", "status line"),  # latin-1 superscript two
        (b"HTTP/1.1 200 OK\r\ncontent-length: \xb2\r\n\r\n", "not a number"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "not 'name: value'"),
        (b"HTTP/1.1 200 OK\r\na: 1\r\n folded\r\n\r\n", "not 'name: value'"),
        (b"HTTP/1.1 200 OK\r\nbad name: 1\r\n\r\n", "not 'name: value'"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n", "differing"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n", "not a number"),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 5000\r\n\r\n", "over 1000"),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n", "hexadecimal"),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nabc\r\n", "CRLF"),
        (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3e9\r\n" + b"a" * 1001, "over"),
        (b"HTTP/1.1 200 OK\r\n" + b"x: y\r\n" * 200 + b"\r\n", "more than 128"),
    ],
)
def test_bad_responses_are_protocol_errors(data: bytes, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        parse(data)


def test_heads_and_chunk_lines_are_bounded() -> None:
    parser = ResponseParser()
    parser.expect()
    with pytest.raises(ProtocolError, match="head over"):
        for _ in range(MAX_HEAD // 1000 + 2):
            parser.feed(b"x" * 1000)
    parser = ResponseParser()
    parser.expect()
    parser.feed(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
    with pytest.raises(ProtocolError, match="chunk line over"):
        parser.feed(b"1" * 5000)
