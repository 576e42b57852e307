"""Analytics events: one JSON object per decision with the ingest fields of the Mule gateway
(`research/anypoint.md` §5.4) and the violated policy, built by `EventFactory`."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from typing import Any

from reference_adapter.model import CheckInput, Decision


def iso_ms(epoch: float) -> str:
    """``2026-11-27T08:00:00.123Z`` for an epoch in seconds."""
    stamp = datetime.fromtimestamp(epoch, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


class EventFactory:
    """Builds events for one adapter. ``event_id`` comes from the injected rng (reproducible
    in virtual time); ``transaction_id`` is the request's ``x-request-id`` when present."""

    def __init__(self, org_id: str, host_id: str, rng: random.Random) -> None:
        self.org_id = org_id
        self.host_id = host_id
        self._rng = rng

    def new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

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
