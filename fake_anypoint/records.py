"""What the control plane records rather than owns: tokens, journal, faults, analytics batches
and keep-alives (a part of ``ControlPlaneState``).
"""

from __future__ import annotations

import random
import secrets
from typing import TYPE_CHECKING, Any

from .core import Hooks
from .faults import ActiveFault, DataKind, FaultAction, FaultSpec, anchor, pick_fault
from .model import IngestBatch, JournalEntry, Token
from .organization import Organization

if TYPE_CHECKING:
    from common.clock import Clock

JOURNAL_LIMIT = 200_000
KEEPALIVE_LIMIT = 10_000


class AuthError(Exception):
    """A request's credentials or bearer token were refused (HTTP 401)."""


class Records:
    """Tokens, journal, faults, analytics batches and keep-alives of one control plane."""

    def __init__(
        self, clock: Clock, seed: int, hooks: Hooks, org: Organization, token_ttl_s: float
    ) -> None:
        self.clock = clock
        self.hooks = hooks
        self.org = org
        self.token_ttl_s = token_ttl_s
        self.tokens: dict[str, Token] = {}
        self.journal_entries: list[JournalEntry] = []
        self.active_faults: list[ActiveFault] = []
        self.fault_rng = random.Random(seed ^ 0x5EED)
        self.batches: list[IngestBatch] = []
        self.batch_index: dict[str, IngestBatch] = {}
        self.keepalive_log: list[dict[str, Any]] = []

    def _notify(self, kind: str, value: Any) -> None:
        self.hooks.record(kind, value)

    # -- tokens -------------------------------------------------------------------------------

    def issue_token(self, client_id: Any, client_secret: Any) -> Token:
        """A bearer token for an enabled connected app; AuthError for wrong credentials."""
        if not isinstance(client_id, str) or not client_id:
            raise AuthError("client_id is missing: send the connected app's client_id")
        app = next((a for a in self.org.all_connected_apps() if a.client_id == client_id), None)
        if app is None or not app.enabled or client_secret != app.client_secret:
            raise AuthError(f"invalid client credentials for client_id {client_id!r}")
        return self._new_token(client_id)

    def login_user(self, username: Any, password: Any) -> Token:
        """A bearer token for the platform user (``/accounts/login``)."""
        if username != self.org.user["username"] or password != self.org.user["password"]:
            raise AuthError(f"invalid username or password for {username!r}")
        return self._new_token(f"user:{username}")

    def _new_token(self, subject: str) -> Token:
        token = Token(secrets.token_urlsafe(24), subject, self.clock.now() + self.token_ttl_s)
        self.tokens[token.value] = token
        self._notify("token", token)
        return token

    def check_token(self, authorization: str | None) -> Token:
        """The token named by an ``Authorization: Bearer`` header; AuthError if not usable."""
        if not authorization:
            raise AuthError("missing Authorization header: send 'Authorization: Bearer <token>'")
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthError("Authorization must be 'Bearer <access_token>'")
        token = self.tokens.get(value.strip())
        if token is None:
            raise AuthError("unknown access token: log in again")
        if self.clock.now() >= token.expires_at:
            raise AuthError("access token expired: log in again")
        return token

    def expire_tokens(self) -> int:
        """Make every issued token expire now (clients must log in again); returns how many
        were still valid."""
        now = self.clock.now()
        live = 0
        for token in self.tokens.values():
            live += now < token.expires_at
            token.expires_at = min(token.expires_at, now)
        return live

    # -- faults -------------------------------------------------------------------------------

    def add_fault(self, spec: FaultSpec) -> ActiveFault:
        """Add a fault, its window counted from now (faults apply in the order added; the
        first that fires wins)."""
        fault = anchor(spec, self.clock.now())
        self.active_faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        self.active_faults.clear()

    def faults(self) -> list[ActiveFault]:
        return list(self.active_faults)

    def pick_fault(self, served: frozenset[DataKind]) -> FaultAction | None:
        return pick_fault(self.active_faults, served, self.clock.now(), self.fault_rng)

    # -- journal ------------------------------------------------------------------------------

    def record(self, entry: JournalEntry) -> None:
        self.journal_entries.append(entry)
        if len(self.journal_entries) > JOURNAL_LIMIT:
            del self.journal_entries[: len(self.journal_entries) - JOURNAL_LIMIT]
        self._notify("journal", entry)

    def journal(self, data: str | None = None) -> list[JournalEntry]:
        """Requests served so far (oldest first), optionally only those serving one data kind."""
        if data is None:
            return list(self.journal_entries)
        return [e for e in self.journal_entries if data in e.data]

    # -- analytics ----------------------------------------------------------------------------

    def ingest(self, batch_id: str, events: list[dict[str, Any]], size_bytes: int) -> bool:
        """Record one analytics POST; True if ``batch_id`` was seen before (a duplicate)."""
        known = self.batch_index.get(batch_id)
        if known is not None:
            known.duplicates += 1
            self._notify("batch", known)
            return True
        batch = IngestBatch(batch_id, self.clock.now(), self.clock.wall(), size_bytes, list(events))
        self.batches.append(batch)
        self.batch_index[batch_id] = batch
        self._notify("batch", batch)
        return False

    def analytics_batches(self) -> list[IngestBatch]:
        return list(self.batches)

    def analytics_events(self) -> list[dict[str, Any]]:
        """Events of the first copy of every batch, in arrival order."""
        return [event for batch in self.batches for event in batch.events]

    # -- keep-alives --------------------------------------------------------------------------

    def note_keepalive(self, adapter_id: str, api_ids: list[int], version: str) -> None:
        now, wall = self.clock.now(), self.clock.wall()
        entry = {
            "adapter_id": adapter_id,
            "api_ids": list(api_ids),
            "version": version,
            "at": now,
            "wall": wall,
        }
        self.keepalive_log.append(entry)
        if len(self.keepalive_log) > KEEPALIVE_LIMIT:
            del self.keepalive_log[: len(self.keepalive_log) - KEEPALIVE_LIMIT]
        self._notify("keepalive", entry)

    def keepalives(self) -> list[dict[str, Any]]:
        """Keep-alives received: ``{adapter_id, api_ids, version, at, wall}``."""
        return list(self.keepalive_log)
