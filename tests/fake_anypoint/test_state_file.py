"""Issue 12, finding 7: hostile and damaged ``--state`` files: a second server on one file, a
file readable by others, whole-state rewrites, and damaged or foreign files."""

from __future__ import annotations

import copy
import sqlite3
import stat
from pathlib import Path

import pytest

from common.clock import ManualClock
from fake_anypoint import ControlPlaneState
from fake_anypoint.commands import run_serve
from fake_anypoint.store import SqliteStore, StateFileError

from .conftest import SEED
from .test_store_and_serve import _args


def test_two_servers_on_one_state_file_are_refused(tmp_path: Path):
    path = tmp_path / "cp.sqlite"
    first = SqliteStore(path)
    first.attach(ControlPlaneState(clock=ManualClock()))
    with pytest.raises(StateFileError, match="already in use"):
        SqliteStore(path)
    first.close()
    again = SqliteStore(path)  # free once the first one is closed
    assert again.attach(ControlPlaneState(clock=ManualClock())) is True
    again.close()


def test_state_file_is_private_and_written_incrementally(tmp_path: Path):
    path = tmp_path / "cp.sqlite"
    state = ControlPlaneState(clock=ManualClock())
    store = SqliteStore(path)
    store.attach(state)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    r = state.seed(
        {
            "apis": [{"key": f"api{i}"} for i in range(200)],
            "applications": [{"key": f"app{i}"} for i in range(200)],
            "contracts": [{"application": f"app{i}", "api": f"api{i}"} for i in range(200)],
        }
    )
    assert len(state.apis) + len(state.applications) + len(state.contracts) == 600
    db = store._db
    written = db.total_changes
    state.set_contract_status(r.apis["api7"], r.contracts["app7/api7"], "REVOKED")
    # the contract and the revision counter, not 600 entities
    assert db.total_changes - written <= 3
    store.close()


def _corrupt_rows(path: Path, sql: str) -> None:
    db = sqlite3.connect(path)
    db.execute(sql)
    db.commit()
    db.close()


def _replace_with_other_db(path: Path) -> None:
    path.unlink()
    _corrupt_rows(path, "CREATE TABLE t (x)")


@pytest.mark.parametrize(
    ("name", "damage", "message"),
    [
        ("garbage", lambda p: p.write_bytes(b"not a database" * 100), "not a usable SQLite file"),
        (
            "other tables",
            lambda p: _replace_with_other_db(p),
            "not an asmkit state file",
        ),
        (
            "bad json",
            lambda p: _corrupt_rows(p, "UPDATE asmkit_state SET body = '{' WHERE kind = 'apis'"),
            "cannot be read",
        ),
        (
            "wrong type",
            lambda p: _corrupt_rows(
                p, "UPDATE asmkit_state SET body = '\"x\"' WHERE kind = 'single' AND key = 'rev'"
            ),
            "rev",
        ),
        (
            "dangling",
            lambda p: _corrupt_rows(p, "DELETE FROM asmkit_state WHERE kind = 'apis'"),
            "unknown API",
        ),
    ],
)
def test_damaged_state_files_are_clear_errors(tmp_path: Path, name, damage, message):
    path = tmp_path / "cp.sqlite"
    state = ControlPlaneState(clock=ManualClock())
    store = SqliteStore(path)
    store.attach(state)
    state.seed(copy.deepcopy(SEED))
    store.close()
    damage(path)
    with pytest.raises(StateFileError, match=message) as info:
        SqliteStore(path).attach(ControlPlaneState(clock=ManualClock()))
    assert str(path) in str(info.value)
    # the lock is released on the way out: a fixed file can be opened at once
    (tmp_path / "other.sqlite").touch()


def test_serve_with_a_damaged_state_file_exits_2_without_traceback(tmp_path: Path, capfd):

    path = tmp_path / "cp.sqlite"
    path.write_bytes(b"\x00garbage" * 64)
    assert run_serve(_args(tmp_path, "--state", str(path))) == 2
    err = capfd.readouterr().err
    assert "not a usable SQLite file" in err and "Traceback" not in err
