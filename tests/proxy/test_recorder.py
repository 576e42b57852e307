"""The recorder hands out cassettes in the shape the fake's cassette model validates, with
bodies decoded (gzip inflated with a bound) and everything redacted."""

from __future__ import annotations

import gzip
import json

from fake_anypoint.cassette import parse_cassette
from proxy.mitm.recorder import MAX_BODY_BYTES, Message, Recorder, decode_body
from proxy.mitm.redact import REDACTED

CLIENT = "f7c1bd874da5e709d4713d60c8a70639"


def _recorder() -> Recorder:
    clock = iter([10.0, 10.5, 11.0, 11.2, 12.0, 12.1])
    recorder = Recorder(now=lambda: next(clock))
    recorder.start({"anypoint.mulesoft.com": "platform", "ingest.example": "ingest"})
    return recorder


def test_take_is_a_valid_redacted_cassette() -> None:
    recorder = _recorder()
    token = json.dumps({"client_id": CLIENT, "client_secret": "the-secret", "grant_type": "x"})
    recorder.add(
        host="anypoint.mulesoft.com",
        started=10.0,
        request=Message(
            [("Content-Type", "application/json")], token.encode(), "POST", "/accounts/token"
        ),
        response=Message(
            [("Content-Type", "application/json")],
            json.dumps({"access_token": "tok-abcdef"}).encode(),
            status=200,
        ),
    )
    events = gzip.compress(json.dumps([{"client_id": CLIENT}]).encode())
    recorder.add(
        host="ingest.example",
        started=11.0,
        request=Message(
            [("Content-Encoding", "gzip"), ("Authorization", "Bearer tok-abcdef")],
            events,
            "POST",
            "/v2/analytics/events",
            [("debug", "1")],
        ),
        response=None,
        error="connection reset",
        fault="reset on ingest",
    )
    data = recorder.take("salt")
    cassette = parse_cassette(data)  # the shape the fake replays
    text = json.dumps(data)
    for secret in ("the-secret", "tok-abcdef", CLIENT):
        assert secret not in text
    first, second = cassette.interactions
    assert (first.at, second.at) == (0.0, 1.0)
    assert json.loads(first.request.body)["client_secret"] == REDACTED
    assert second.request.headers == [("Authorization", REDACTED)]  # encoding undone: dropped
    assert json.loads(second.request.body)[0]["client_id"] != CLIENT
    assert (second.response, second.error, second.fault) == (
        None,
        "connection reset",
        "reset on ingest",
    )
    assert recorder.take()["interactions"] == []  # taken means gone


def test_gzip_bombs_are_cut_and_binary_stays_base64() -> None:
    bomb = gzip.compress(b"0" * (MAX_BODY_BYTES * 4))
    body, truncated, encoding = decode_body(bomb, "gzip")
    assert len(body) == MAX_BODY_BYTES and truncated and encoding == ""
    assert decode_body(b"not gzip", "gzip") == (b"not gzip", False, "gzip")
    recorder = _recorder()
    recorder.add(
        host="anypoint.mulesoft.com",
        started=10.0,
        request=Message([], b"\xff\xfe\x00", "PUT", "/blob"),
        response=Message([("content-encoding", "br")], b"\x01\x02", status=200),
    )
    interaction = parse_cassette(recorder.take("s")).interactions[0]
    assert interaction.request.body_base64 and interaction.response is not None
    assert interaction.response.body_base64
    assert ("content-encoding", "br") in interaction.response.headers


def test_nothing_is_kept_while_off() -> None:
    recorder = Recorder()
    recorder.add(host="h", started=0.0, request=Message([], b"", "GET", "/"), response=None)
    assert recorder.exchanges == []
