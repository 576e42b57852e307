"""Analytics events: one JSON object per decision with the ingest fields of the Mule gateway
(`research/anypoint.md` §5.4) and the violated policy, built by `EventFactory`."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from reference_adapter.model import CheckInput, Decision


class _SecondStamp:
    """The formatted second of the last timestamp: consecutive events share it, so the date
    formatting (the costly part) runs about once per second instead of once per event."""

    second = -1
    text = ""


def iso_ms(epoch: float) -> str:
    """``2026-11-27T08:00:00.123Z`` for an epoch in seconds (milliseconds truncated)."""
    second = int(epoch // 1)
    micros = round((epoch - second) * 1_000_000)
    if micros >= 1_000_000:
        second, micros = second + 1, micros - 1_000_000
    if second != _SecondStamp.second:
        stamp = datetime.fromtimestamp(second, UTC)
        _SecondStamp.second, _SecondStamp.text = second, stamp.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{_SecondStamp.text}.{micros // 1000:03d}Z"


def uuid4_from(bits: int) -> str:
    """``str(uuid.UUID(int=bits, version=4))``, without building the UUID object."""
    bits = (bits & ~(0xF000 << 64) | 0x4000 << 64) & ~(0xC000 << 48) | 0x8000 << 48
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class EventFactory:
    """Builds events for one adapter. ``event_id`` comes from the injected rng (reproducible
    in virtual time); ``transaction_id`` is the request's ``x-request-id`` when present."""

    def __init__(self, org_id: str, host_id: str, rng: random.Random) -> None:
        self.org_id = org_id
        self.host_id = host_id
        self._rng = rng

    def new_id(self) -> str:
        return uuid4_from(self._rng.getrandbits(128))

    def build(
        self,
        request: CheckInput,
        decision: Decision,
        received_wall: float,
        replied_wall: float,
        api_version_id: str | None = None,
    ) -> dict[str, Any]:
        event_id = self.new_id()
        violation = decision.violation
        return {
            "event_id": event_id,
            "transaction_id": request.request_id or request.headers.get("x-request-id") or event_id,
            "api_id": request.api_id,
            "api_version_id": api_version_id or request.api_id,
            "org_id": self.org_id,
            "host_id": self.host_id,
            "client_id": decision.client_id,
            "received_ts": iso_ms(received_wall),
            "replied_ts": iso_ms(replied_wall),
            "client_ip": request.source_ip,
            "verb": request.method,
            "path": request.path.partition("?")[0],
            "status_code": decision.status,
            "user_agent": request.headers.get("user-agent", ""),
            "request_bytes": request.size,
            "response_bytes": len(decision.body),
            "request_disposition": "processed" if decision.allowed else "blocked",
            "policy_violation": (
                {"policy_id": violation.policy_id, "policy_name": violation.name}
                if violation is not None
                else None
            ),
        }
