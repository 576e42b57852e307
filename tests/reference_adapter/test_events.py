"""Analytics events carry the ingest fields of research/anypoint.md §5.4 and the violation."""

from __future__ import annotations

import random

from reference_adapter.events import EventFactory, iso_ms

from .helpers import client_id_policy, engine_with, req

FIELDS = {
    "event_id",
    "transaction_id",
    "api_id",
    "api_version_id",
    "org_id",
    "host_id",
    "client_id",
    "received_ts",
    "replied_ts",
    "client_ip",
    "verb",
    "path",
    "status_code",
    "user_agent",
    "request_bytes",
    "response_bytes",
    "request_disposition",
    "policy_violation",
}


def test_allowed_and_blocked_events():
    engine = engine_with([client_id_policy()])
    factory = EventFactory("org-1", "adapter-1", random.Random(1))
    ok_req = req(
        {
            "client_id": "app-1",
            "client_secret": "s3cret",
            "user-agent": "curl/8",
            "x-request-id": "rid-1",
        },
        path="/orders?x=1",
        method="POST",
        body=b"hello",
    )
    ok = factory.build(ok_req, engine.decide(ok_req, 0.0), 1_790_000_000.0, 1_790_000_000.0015)
    assert set(ok) == FIELDS
    assert ok["request_disposition"] == "processed" and ok["status_code"] == 200
    assert ok["client_id"] == "app-1" and ok["policy_violation"] is None
    assert ok["transaction_id"] == "rid-1" and ok["verb"] == "POST" and ok["path"] == "/orders"
    assert (
        ok["request_bytes"] == 5 and ok["user_agent"] == "curl/8" and ok["client_ip"] == "10.0.0.1"
    )
    assert ok["received_ts"] == "2026-09-21T14:13:20.000Z" and ok["replied_ts"].endswith("20.001Z")
    bad_req = req({})
    bad = factory.build(bad_req, engine.decide(bad_req, 0.0), 0.0, 0.0)
    assert bad["request_disposition"] == "blocked" and bad["status_code"] == 401
    assert bad["policy_violation"] == {"policy_id": 501, "policy_name": "client-id-enforcement"}
    assert bad["transaction_id"] == bad["event_id"] != ok["event_id"]
    assert bad["response_bytes"] > 0


def test_iso_ms():
    assert iso_ms(0.25) == "1970-01-01T00:00:00.250Z"


def test_fast_uuid_and_timestamp_match_the_standard_library():
    import random
    import uuid
    from datetime import UTC, datetime

    from reference_adapter.events import iso_ms, uuid4_from

    rng = random.Random(7)
    for _ in range(5000):
        bits = rng.getrandbits(128)
        assert uuid4_from(bits) == str(uuid.UUID(int=bits, version=4))
        epoch = 1.79e9 + rng.random() * 1e6
        stamp = datetime.fromtimestamp(epoch, UTC)
        assert iso_ms(epoch) == stamp.strftime("%Y-%m-%dT%H:%M:%S.") + (
            f"{stamp.microsecond // 1000:03d}Z"
        )
    assert iso_ms(1790000000.9999996) == "2026-09-21T14:13:21.000Z"  # rounds into the next second
