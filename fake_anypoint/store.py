"""``--state FILE``: SQLite write-through persistence of a ``ControlPlaneState``.

One row per entity (APIs, policies, tiers, applications, contracts, tokens, ...): a change
writes only the rows whose content changed. Analytics batches, journal entries and keep-alives
are appended to their own tables. The file is created with mode 0600 (it holds secrets) and
locked while a server uses it; a file that is not an asmkit state file, or whose content does
not validate, is refused with a message naming the file.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .model import IngestBatch, JournalEntry
from .persist import dump_state, load_parts
from .records import KEEPALIVE_LIMIT
from .state import ControlPlaneState

_SCHEMA = """
CREATE TABLE IF NOT EXISTS asmkit_state (
    kind TEXT NOT NULL, key TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (kind, key));
CREATE TABLE IF NOT EXISTS batches (batch_id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS keepalives (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
"""
OURS = {"asmkit_state", "batches", "journal", "keepalives", "sqlite_sequence"}
LISTS = (
    "environments",
    "apis",
    "policies",
    "automated_policies",
    "tiers",
    "applications",
    "contracts",
    "published",
    "connected_apps",
)
KEYED = {"tokens": "value", "deleted_assets": None, "faults": None}
SINGLE = ("seed", "org_id", "org_name", "env_id", "connected_app", "user", "rev", "next_ids")


class StateFileError(ValueError):
    """The ``--state`` file cannot be used (locked, not ours, corrupted)."""


class SqliteStore:
    """Keeps ``path`` in step with one state; ``close()`` when done."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_fd = _lock(self.path)
        try:
            self._db = _open(self.path)
        except BaseException:
            os.close(self._lock_fd)
            raise
        self._state: ControlPlaneState | None = None
        self._saved: dict[tuple[str, str], str] = {}

    def attach(self, state: ControlPlaneState) -> bool:
        """Load the file into ``state`` (True) or write ``state`` to a new file (False),
        then write every later change through."""
        rows = self._db.execute("SELECT kind, key, body FROM asmkit_state").fetchall()
        loaded = bool(rows)
        if loaded:
            self._load(state, rows)
        self._state = state
        state.hooks.on_change = self.save
        state.hooks.on_record = self._record
        if not loaded:
            self.save()
        return loaded

    def _load(self, state: ControlPlaneState, rows: list[tuple[str, str, str]]) -> None:
        try:
            data = _document(rows)
            data["batches"] = [json.loads(b) for (b,) in self._select("batches", "rowid")]
            data["keepalives"] = [json.loads(b) for (b,) in self._select("keepalives", "seq")]
            journal = [JournalEntry(**json.loads(b)) for (b,) in self._select("journal", "seq")]
            parts = load_parts(state, data)
        except (ValueError, TypeError, KeyError, sqlite3.DatabaseError) as exc:
            raise StateFileError(
                f"--state {self.path}: the saved state cannot be read ({exc}); "
                "move the file away to start afresh"
            ) from None
        state.parts = parts
        state.records.journal_entries = journal
        self._saved = {(kind, key): body for kind, key, body in rows}

    def _select(self, table: str, order: str) -> list[tuple[str]]:
        return self._db.execute(f"SELECT body FROM {table} ORDER BY {order}").fetchall()

    def save(self) -> None:
        """Write the rows that changed since the last save (one transaction)."""
        if self._state is None:
            return
        rows = _rows(self._state)
        gone = [key for key in self._saved if key not in rows]
        changed = [(k, body) for k, body in rows.items() if self._saved.get(k) != body]
        if not gone and not changed:
            return
        self._db.execute("BEGIN")
        self._db.executemany("DELETE FROM asmkit_state WHERE kind = ? AND key = ?", gone)
        self._db.executemany(
            "INSERT INTO asmkit_state (kind, key, body) VALUES (?, ?, ?) "
            "ON CONFLICT(kind, key) DO UPDATE SET body = excluded.body",
            [(kind, key, body) for (kind, key), body in changed],
        )
        self._db.execute("COMMIT")
        self._saved = rows

    def _record(self, kind: str, value: Any) -> None:
        if kind == "journal" and isinstance(value, JournalEntry):
            self._db.execute("INSERT INTO journal (body) VALUES (?)", (json.dumps(asdict(value)),))
        elif kind == "batch" and isinstance(value, IngestBatch):
            self._db.execute(
                "INSERT INTO batches (batch_id, body) VALUES (?, ?) "
                "ON CONFLICT(batch_id) DO UPDATE SET body = excluded.body",
                (value.batch_id, json.dumps(asdict(value))),
            )
        elif kind == "keepalive":
            self._db.execute("INSERT INTO keepalives (body) VALUES (?)", (json.dumps(value),))
            self._db.execute(
                "DELETE FROM keepalives WHERE seq <= (SELECT MAX(seq) FROM keepalives) - ?",
                (KEEPALIVE_LIMIT,),
            )
        elif kind == "replaced" and self._state is not None:  # reset() or restore()
            self._replace_records(self._state)
        else:  # tokens live in their rows
            self.save()

    def _replace_records(self, state: ControlPlaneState) -> None:
        self._db.execute("BEGIN")
        self._db.execute("DELETE FROM batches")
        self._db.executemany(
            "INSERT INTO batches (batch_id, body) VALUES (?, ?)",
            [(b.batch_id, json.dumps(asdict(b))) for b in state.analytics_batches()],
        )
        self._db.execute("DELETE FROM keepalives")
        self._db.executemany(
            "INSERT INTO keepalives (body) VALUES (?)",
            [(json.dumps(k),) for k in state.keepalives()],
        )
        if not state.journal():
            self._db.execute("DELETE FROM journal")
        self._db.execute("COMMIT")

    def close(self) -> None:
        if self._state is not None:
            self._state.hooks.on_change = None
            self._state.hooks.on_record = None
            self._state = None
        self._db.close()
        os.close(self._lock_fd)


def _rows(state: ControlPlaneState) -> dict[tuple[str, str], str]:
    """The state as rows ``(kind, key) -> JSON`` (records kept in their own tables)."""
    data = dump_state(state, copy=False)  # serialized right below
    rows = {("single", name): json.dumps(data[name]) for name in SINGLE}
    rows[("single", "ids_rng")] = json.dumps(data["ids_rng"])
    for kind in LISTS:
        for item in data[kind]:
            key = (
                item.get("id")
                or f"{item.get('group_id')}/{item.get('asset_id')}/{item.get('version')}"
            )
            rows[(kind, str(key))] = json.dumps(item)
    for token in data["tokens"]:
        token["expires_wall"] = round(token["expires_wall"], 3)
        rows[("tokens", token["value"])] = json.dumps(token)
    for i, fault in enumerate(data["faults"]):
        rows[("faults", f"{i:06d}")] = json.dumps(fault)
    for name in data["deleted_assets"]:
        rows[("deleted_assets", name)] = "null"
    return rows


def _row_key(item: dict[str, Any]) -> str:
    if "id" in item:
        return str(item["id"])
    if "client_id" in item:
        return str(item["client_id"])
    return f"{item.get('group_id')}/{item.get('asset_id')}/{item.get('version')}"


def _document(rows: list[tuple[str, str, str]]) -> dict[str, Any]:
    """Rows back into the ``dump_state`` document (validated by ``load_parts``)."""
    data: dict[str, Any] = {"format": 1, "tokens": [], "faults": [], "deleted_assets": []}
    data.update({kind: [] for kind in LISTS})
    for kind, key, body in sorted(rows):
        if kind == "single":
            data[key] = json.loads(body)
        elif kind == "deleted_assets":
            data[kind].append(key)
        elif kind in data and isinstance(data[kind], list):
            data[kind].append(json.loads(body))
        else:
            raise ValueError(f"unknown row kind {kind!r}")
    for kind in ("apis", "policies", "automated_policies", "tiers", "applications", "contracts"):
        data[kind].sort(key=lambda item: item["id"])
    return data


def _lock(path: Path) -> int:
    """An exclusive lock on ``FILE.lock`` for as long as the store is open."""
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
        os.close(fd)
        raise StateFileError(
            f"--state {path}: already in use by a running control plane (pid {holder}); "
            "two servers on one file would lose acknowledged writes: stop it or pick another path"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


def _open(path: Path) -> sqlite3.Connection:
    """The database, created 0600 when new; refused when it is not an asmkit state file."""
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)
    try:
        db = sqlite3.connect(str(path), isolation_level=None)
        tables = {
            name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if "state" in tables and "asmkit_state" not in tables:
            db.close()
            raise StateFileError(
                f"--state {path}: written by an earlier asmkit (one JSON row); move it away "
                "to start afresh"
            )
        if tables and "asmkit_state" not in tables:
            db.close()
            raise StateFileError(
                f"--state {path}: an SQLite file, but not an asmkit state file (tables: "
                f"{', '.join(sorted(tables))}); pick another path"
            )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
    except sqlite3.DatabaseError as exc:
        raise StateFileError(
            f"--state {path}: not a usable SQLite file ({exc}); pick another path"
        ) from None
    return db
