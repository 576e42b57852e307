"""The load client's fast path (`simulator.http1_fast`): it takes Envoy's common answer without
the full parser, and otherwise gives exactly what the full bounded parser gives (the same
response, or the same refusal), for hostile input too."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import http1_fast, http1_parse
from simulator.http1_fast import HEADS_KEPT, Heads, whole_response
from simulator.http1_parse import ProtocolError, ResponseParser
from simulator.http1_response import LazyClientResponse
from simulator.model import ClientResponse

ENVOY = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 10\r\n"
    b"date: Sun, 06 Dec 2026 10:51:03 GMT\r\nserver: envoy\r\n"
    b'x-envoy-upstream-service-time: 0\r\n\r\n{"a": "b"}'
)
Outcome = tuple[object, ...] | str | None


SHARED: Heads = {}
"""Verdicts kept across the examples below, as a client keeps them across its connections."""


def outcome(data: bytes, *, fast: bool, head: bool = False, max_body: int = 1000) -> Outcome:
    """What the parser makes of ``data`` fed at once, with or without the fast path (which
    keeps its verdicts in `SHARED`)."""
    parser = ResponseParser(max_body=max_body, heads=SHARED)
    parser.expect(head)
    with pytest.MonkeyPatch.context() as patch:
        if not fast:
            patch.setattr(http1_parse, "whole_response", lambda data, max_body, heads: None)
        try:
            got = parser.feed(data)
        except ProtocolError:
            return "protocol error"
    if got is None:
        return None
    fields = (got.status, got.reason, got.headers, got.raw_headers, got.body, got.keep_alive)
    return (*fields, got.header("content-length"))


def same_as_full_parser(data: bytes, *, head: bool = False) -> Outcome:
    fast, full = outcome(data, fast=True, head=head), outcome(data, fast=False, head=head)
    assert fast == full, data
    return fast


def test_envoys_answer_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    full = outcome(ENVOY, fast=False)

    def no_full_parse(head: bytes) -> None:
        raise AssertionError("the full parser ran")

    monkeypatch.setattr(http1_parse, "_Head", no_full_parse)
    resp = whole_response(ENVOY, 1000)
    assert resp is not None and resp.body == b'{"a": "b"}' and resp.keep_alive
    assert outcome(ENVOY, fast=True) == full
    assert resp.headers[1] == ("content-length", "10")
    assert resp.raw_headers[0] == ("content-type", "application/json")


def test_headers_are_split_once_when_read() -> None:
    resp = whole_response(b"HTTP/1.1 200 OK\r\nX-A:  1 \t\r\nContent-Length: 0\r\n\r\n", 10)
    assert resp is not None
    assert resp.headers is resp.headers
    assert resp.headers == [("x-a", "1"), ("content-length", "0")]
    assert resp.raw_headers == [("X-A", "1"), ("Content-Length", "0")]


TAKEN = [
    b"HTTP/1.1 404 Not Found\r\nCONTENT-LENGTH:\t 2 \r\n\r\nno",
    b"HTTP/1.1 200 \r\nx-a:\r\ncontent-length: 0\r\nx-b: \xe9\r\n\r\n",
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 02\r\nx-connection: close\r\n\r\nno",
]


@pytest.mark.parametrize("data", TAKEN, ids=range(len(TAKEN)))
def test_plain_answers_take_the_fast_path(data: bytes) -> None:
    resp = whole_response(data, 1000)
    assert resp is not None and resp.keep_alive
    full = same_as_full_parser(data)
    assert isinstance(full, tuple) and full[:2] == (resp.status, resp.reason)
    assert full[4] == resp.body


DECLINED = [
    # what the full parser must decide (or refuse): the fast path gives None for each
    b"HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 2\r\n\r\nhi",
    b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 2\r\n\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 2\r\n\r\nhi",
    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nContent-Length: 3\r\n\r\nhi",
    b"HTTP/1.1 200 OK\r\ncontent-length: 2, 2\r\n\r\nhi",
    b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nhi",
    b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nhi",
    b"HTTP/1.1 200 OK\r\ncontent-length: 5000\r\n\r\n" + b"x" * 5000,
    b"HTTP/1.1 200 OK\r\ncontent-length: 1234567890123456789\r\n\r\n",
    b"HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n",
    b"HTTP/1.1 200 OK\r\ncontent-length : 2\r\n\r\nhi",
    b"HTTP/1.1 200 OK\r\nx-a: 1\r\n folded\r\ncontent-length: 2\r\n\r\nhi",
    b"HTTP/1.1 200 OK\r\nno colon\r\ncontent-length: 2\r\n\r\nhi",
    b"HTTP/1.1 200 OK\r\nx-a: a\rb\r\ncontent-length: 2\r\n\r\nhi",
    b"HTTP/1.1 200 OK\r\n" + b"x: y\r\n" * 200 + b"content-length: 2\r\n\r\nhi",
    b"HTTP/1.1 200 OK\r\n" + b"x: " + b"y" * (70 * 1024) + b"\r\ncontent-length: 0\r\n\r\n",
    b"HTTP/1.1 200\r\ncontent-length: 2\r\n\r\nhi",
    b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nhi",
    b"http/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi",
    b"HTTP/1.1 204 No Content\r\ncontent-length: 2\r\n\r\nhi",
    b"HTTP/1.1 304 Not Modified\r\ncontent-length: 0\r\n\r\n",
    b"HTTP/1.1 2x0 OK\r\ncontent-length: 2\r\n\r\nhi",
    b"HTTP/1.1 200 OK\r\nx-a: 1\r\n\r\nhi",
    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r",
]


@pytest.mark.parametrize("data", DECLINED, ids=range(len(DECLINED)))
def test_what_is_not_plain_goes_to_the_full_parser(data: bytes) -> None:
    assert whole_response(data, 1000) is None
    same_as_full_parser(data)


def test_the_full_parsers_answers_to_what_the_fast_path_declines() -> None:
    close = same_as_full_parser(DECLINED[0])
    assert isinstance(close, tuple) and close[5] is False  # keep_alive: the close is kept
    assert same_as_full_parser(DECLINED[3]) == "protocol error"  # differing lengths
    extra = same_as_full_parser(DECLINED[6])
    assert isinstance(extra, tuple) and extra[4] == b"h" and extra[5] is False  # unsolicited
    assert same_as_full_parser(DECLINED[7]) == "protocol error"  # over max_body
    assert same_as_full_parser(DECLINED[14]) == "protocol error"  # too many headers
    assert same_as_full_parser(DECLINED[15]) == "protocol error"  # head too long
    head_only = same_as_full_parser(ENVOY.split(b"\r\n\r\n")[0] + b"\r\n\r\n", head=True)
    assert isinstance(head_only, tuple) and head_only[4:6] == (b"", True)  # HEAD: no body


_NAMES = st.sampled_from(
    [
        "content-length",
        "Content-Length",
        "CONTENT-LENGTH",
        "connection",
        "Transfer-Encoding",
        "x-a",
        "server",
        "content-lengthx",
        "bad name",
        "",
        " x",
    ]
)
_VALUES = st.one_of(
    st.sampled_from(["0", "2", " 2 ", "\t2", "2,2", "02", "+2", "\xb2", "close", "chunked"]),
    st.text(alphabet="ab 2\t,\r\n:\xb2\xe9", max_size=8),
)


@settings(max_examples=400)
@given(
    st.sampled_from(
        ["HTTP/1.1 200 OK", "HTTP/1.1 201 ", "HTTP/1.1 404 Not Found", "HTTP/1.0 200 OK"]
    ),
    st.lists(st.tuples(_NAMES, _VALUES), max_size=5),
    st.binary(max_size=4),
    st.booleans(),
)
def test_any_head_gives_what_the_full_parser_gives(
    status: str, headers: list[tuple[str, str]], body: bytes, head: bool
) -> None:
    lines = [status, *(f"{name}:{value}" for name, value in headers)]
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    same_as_full_parser(data, head=head)
    resp = whole_response(data, 1000)
    if resp is not None:  # only ever one plain Content-Length framing
        assert [k for k, _ in resp.headers if k in ("connection", "transfer-encoding")] == []
        assert [k for k, _ in resp.headers].count("content-length") == 1


def test_a_lazy_client_response_is_the_client_response_it_stands_for() -> None:
    resp = whole_response(ENVOY, 1000)
    assert resp is not None
    lazy = LazyClientResponse.of(resp, 0.25)
    assert lazy._source is resp  # nothing split yet
    plain = ClientResponse(200, resp.headers, resp.body, "skipped", duration_s=0.25)
    assert lazy == plain and plain == lazy and repr(lazy).endswith(repr(plain)[14:])
    assert lazy.headers == plain.headers and lazy.header("Server") == "envoy"
    assert lazy != replace(plain, status=201) and lazy != replace(plain, headers=[])
    assert replace(lazy, status=201).headers == plain.headers
    lazy.headers = [("x", "1")]
    assert lazy.headers == [("x", "1")] and lazy != plain


def test_a_head_seen_before_is_not_checked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    heads: Heads = {}
    first = whole_response(ENVOY, 1000, heads)
    assert first is not None and len(heads) == 1

    def no_check(head: bytes) -> None:
        raise AssertionError("checked again")

    with monkeypatch.context() as patch:
        patch.setattr(http1_fast, "plain_head", no_check)
        again = whole_response(ENVOY, 1000, heads)
        assert again is not None and (again.status, again.body) == (first.status, first.body)
        assert again.headers == first.headers
        # the same head, a body that does not match its length: the full parser decides
        assert whole_response(ENVOY + b"x", 1000, heads) is None
        assert whole_response(ENVOY, 5, heads) is None  # over max_body
    # one byte more in the head is another head: checked, and here refused
    other = ENVOY.replace(b"server: envoy", b"server: envoy\r\nconnection: close")
    assert whole_response(other, 1000, heads) is None and len(heads) == 1
    assert same_as_full_parser(other) == outcome(other, fast=False)


def test_kept_heads_are_bounded() -> None:
    heads: Heads = {}
    for i in range(HEADS_KEPT + 5):
        data = b"HTTP/1.1 200 OK\r\nx-n: %d\r\ncontent-length: 0\r\n\r\n" % i
        assert whole_response(data, 10, heads) is not None
        assert len(heads) <= HEADS_KEPT


@settings(max_examples=400)
@given(
    st.sampled_from(["Content-Length", "content-length", "CONTENT-length"]),
    st.sampled_from(["", " ", "\t", "  "]),
    st.lists(
        st.tuples(st.sampled_from(["server", "date", "x-a", "X-Envoy-B"]), _VALUES), max_size=4
    ),
    st.binary(max_size=6),
    st.integers(min_value=0, max_value=200),
    st.sampled_from([b"", b"\r", b"\n", b" ", b":", b"\xb2", b"\r\n", b"0", b"x"]),
)
def test_plain_heads_and_their_one_byte_mutants_give_what_the_full_parser_gives(
    length_name: str,
    blank: str,
    headers: list[tuple[str, str]],
    body: bytes,
    at: int,
    byte: bytes,
) -> None:
    lines = ["HTTP/1.1 200 OK", *(f"{n}: {v}" for n, v in headers)]
    lines.insert(1 + at % len(lines), f"{length_name}:{blank}{len(body)}{blank}")
    head = "\r\n".join(lines).encode("latin-1")
    mutant = head[: at % len(head)] + byte + head[at % len(head) :]  # b"": the plain head
    for data in (head + b"\r\n\r\n" + body, mutant + b"\r\n\r\n" + body):
        same_as_full_parser(data)
    if all("\r" not in v and "\n" not in v for _, v in headers):
        assert whole_response(head + b"\r\n\r\n" + body, 1000) is not None  # plain: taken
