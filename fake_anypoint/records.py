"""What the control plane records rather than owns: tokens, journal, faults, analytics, keep-alives.

A mixin of ``ControlPlaneState``; kept apart so the entity logic stays readable.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from typing import Any

from common.clock import Clock

from .faults import ActiveFault, DataKind, FaultAction, FaultSpec, anchor, pick_fault
from .model import ConnectedApp, IngestBatch, JournalEntry, Token

JOURNAL_LIMIT = 200_000


class AuthError(Exception):
    """A request's credentials or bearer token were refused (HTTP 401)."""


class RecordsMixin:
    """Tokens, journal, faults, analytics batches and keep-alives of one control plane."""

    clock: Clock
    connected_app: ConnectedApp
    token_ttl_s: float
    user: dict[str, Any]
    _tokens: dict[str, Token]
    _journal: list[JournalEntry]
    _faults: list[ActiveFault]
    _fault_rng: random.Random
    _batches: list[IngestBatch]
    _batch_index: dict[str, IngestBatch]
    _keepalives: list[dict[str, Any]]
    _on_record: Callable[[str, Any], None] | None

    def _init_records(self, seed: int) -> None:
        self._tokens = {}
        self._journal = []
        self._faults = []
        self._fault_rng = random.Random(seed ^ 0x5EED)
        self._batches = []
        self._batch_index = {}
        self._keepalives = []

    def _notify(self, kind: str, value: Any) -> None:
        hook = getattr(self, "_on_record", None)
        if hook is not None:
            hook(kind, value)

    # -- tokens -------------------------------------------------------------------------------

    def issue_token(self, client_id: Any, client_secret: Any) -> Token:
        """A bearer token for the connected app; AuthError for wrong credentials."""
        app = self.connected_app
        if not isinstance(client_id, str) or not client_id:
            raise AuthError("client_id is missing: send the connected app's client_id")
        if client_id != app.client_id or client_secret != app.client_secret:
            raise AuthError(f"invalid client credentials for client_id {client_id!r}")
        return self._new_token(client_id)

    def login_user(self, username: Any, password: Any) -> Token:
        """A bearer token for the platform user (``/accounts/login``)."""
        if username != self.user["username"] or password != self.user["password"]:
            raise AuthError(f"invalid username or password for {username!r}")
        return self._new_token(f"user:{username}")

    def _new_token(self, subject: str) -> Token:
        token = Token(secrets.token_urlsafe(24), subject, self.clock.now() + self.token_ttl_s)
        self._tokens[token.value] = token
        self._notify("token", token)
        return token

    def check_token(self, authorization: str | None) -> Token:
        """The token named by an ``Authorization: Bearer`` header; AuthError if not usable."""
        if not authorization:
            raise AuthError("missing Authorization header: send 'Authorization: Bearer <token>'")
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthError("Authorization must be 'Bearer <access_token>'")
        token = self._tokens.get(value.strip())
        if token is None:
            raise AuthError("unknown access token: log in again")
        if self.clock.now() >= token.expires_at:
            raise AuthError("access token expired: log in again")
        return token

    def expire_tokens(self) -> None:
        """Make every issued token expire now (clients must log in again)."""
        now = self.clock.now()
        for token in self._tokens.values():
            token.expires_at = min(token.expires_at, now)

    # -- faults -------------------------------------------------------------------------------

    def add_fault(self, spec: FaultSpec) -> ActiveFault:
        """Add a fault, its window counted from now (faults apply in the order added; the
        first that fires wins)."""
        fault = anchor(spec, self.clock.now())
        self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        self._faults.clear()

    def faults(self) -> list[ActiveFault]:
        return list(self._faults)

    def pick_fault(self, served: frozenset[DataKind]) -> FaultAction | None:
        return pick_fault(self._faults, served, self.clock.now(), self._fault_rng)

    # -- journal ------------------------------------------------------------------------------

    def record(self, entry: JournalEntry) -> None:
        self._journal.append(entry)
        if len(self._journal) > JOURNAL_LIMIT:
            del self._journal[: len(self._journal) - JOURNAL_LIMIT]
        self._notify("journal", entry)

    def journal(self, data: str | None = None) -> list[JournalEntry]:
        """Requests served so far (oldest first), optionally only those serving one data kind."""
        if data is None:
            return list(self._journal)
        return [e for e in self._journal if data in e.data]

    # -- analytics ----------------------------------------------------------------------------

    def ingest(self, batch_id: str, events: list[dict[str, Any]], size_bytes: int) -> bool:
        """Record one analytics POST; True if ``batch_id`` was seen before (a duplicate)."""
        known = self._batch_index.get(batch_id)
        if known is not None:
            known.duplicates += 1
            self._notify("batch", known)
            return True
        batch = IngestBatch(batch_id, self.clock.now(), self.clock.wall(), size_bytes, list(events))
        self._batches.append(batch)
        self._batch_index[batch_id] = batch
        self._notify("batch", batch)
        return False

    def analytics_batches(self) -> list[IngestBatch]:
        return list(self._batches)

    def analytics_events(self) -> list[dict[str, Any]]:
        """Events of the first copy of every batch, in arrival order."""
        return [event for batch in self._batches for event in batch.events]

    # -- keep-alives --------------------------------------------------------------------------

    def keepalives(self) -> list[dict[str, Any]]:
        """Keep-alives received: ``{adapter_id, api_ids, version, at, wall}``."""
        return list(self._keepalives)
