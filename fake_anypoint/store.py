"""``--state FILE``: SQLite write-through persistence of a ``ControlPlaneState``.

The entity state is one JSON row rewritten on every change; analytics batches and journal
entries are appended to their own tables. ``attach`` reloads an existing file first.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .model import IngestBatch, JournalEntry
from .persist import dump_state, load_parts
from .state import ControlPlaneState

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batches (batch_id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
"""


class SqliteStore:
    """Keeps ``path`` in step with one state; ``close()`` when done."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(str(self.path), isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise ValueError(
                f"--state {self.path}: not a usable SQLite file ({exc}); pick another path"
            ) from None
        self._state: ControlPlaneState | None = None

    def attach(self, state: ControlPlaneState) -> bool:
        """Load the file into ``state`` (True) or write ``state`` to a new file (False),
        then write every later change through."""
        row = self._db.execute("SELECT body FROM state WHERE id = 1").fetchone()
        loaded = row is not None
        if loaded:
            data = json.loads(row[0])
            data["batches"] = [
                json.loads(b)
                for (b,) in self._db.execute("SELECT body FROM batches ORDER BY rowid")
            ]
            state.parts = load_parts(state, data)
            state.records.journal_entries = [
                JournalEntry(**json.loads(b))
                for (b,) in self._db.execute("SELECT body FROM journal ORDER BY seq")
            ]
        self._state = state
        state.hooks.on_change = self.save
        state.hooks.on_record = self._record
        if not loaded:
            self.save()
        return loaded

    def save(self) -> None:
        if self._state is None:
            return
        data = dump_state(self._state)
        data.pop("batches")
        self._db.execute("BEGIN")
        self._db.execute(
            "INSERT INTO state (id, body) VALUES (1, ?) "
            "ON CONFLICT(id) DO UPDATE SET body = excluded.body",
            (json.dumps(data),),
        )
        self._db.execute("COMMIT")

    def _record(self, kind: str, value: Any) -> None:
        if kind == "journal" and isinstance(value, JournalEntry):
            self._db.execute("INSERT INTO journal (body) VALUES (?)", (json.dumps(asdict(value)),))
        elif kind == "batch" and isinstance(value, IngestBatch):
            self._db.execute(
                "INSERT INTO batches (batch_id, body) VALUES (?, ?) "
                "ON CONFLICT(batch_id) DO UPDATE SET body = excluded.body",
                (value.batch_id, json.dumps(asdict(value))),
            )
        elif kind == "replaced" and self._state is not None:  # reset() or restore()
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM batches")
            for batch in self._state.analytics_batches():
                self._db.execute(
                    "INSERT INTO batches (batch_id, body) VALUES (?, ?)",
                    (batch.batch_id, json.dumps(asdict(batch))),
                )
            if not self._state.journal():
                self._db.execute("DELETE FROM journal")
            self._db.execute("COMMIT")
        else:  # tokens live in the state row
            self.save()

    def close(self) -> None:
        if self._state is not None:
            self._state.hooks.on_change = None
            self._state.hooks.on_record = None
            self._state = None
        self._db.close()
