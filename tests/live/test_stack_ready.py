"""The stack waits for every adapter replica's own first sync: one replica polling again cannot
stand in for another that has not synced yet (calls are told apart by their login)."""

from __future__ import annotations

import pytest

from fake_anypoint import JournalEntry
from live.stack import sync_took, synced_callers

NEEDED = ["/apis/1/policies", "/apis/1/contracts"]


def entry(path: str, caller: str, status: int = 200) -> JournalEntry:
    return JournalEntry("GET", path, status, 0.0, 0.0, None, (), caller=caller)


def test_one_replica_polling_twice_is_one_synced_replica() -> None:
    journal = [entry(p, "a") for p in NEEDED * 3] + [entry(NEEDED[0], "b")]
    assert synced_callers(journal, NEEDED) == 1
    journal.append(entry("/x/apis/1/contracts?limit=5", "b"))
    assert synced_callers(journal, NEEDED) == 2


def test_failed_calls_do_not_count() -> None:
    journal = [entry(NEEDED[0], "a"), entry(NEEDED[1], "a", status=503)]
    assert synced_callers(journal, NEEDED) == 0


def timed(path: str, caller: str, started: float, duration: float = 0.01) -> JournalEntry:
    return JournalEntry("GET", path, 200, started, duration, None, (), caller=caller)


def test_the_wait_after_the_sync_is_as_long_as_the_slowest_replica_took() -> None:
    """A loaded machine slows an adapter's applying as much as its fetching: the stack waits
    as long again as the slowest replica's first sync took (calls without a login ignored)."""
    journal = [
        JournalEntry("POST", "/accounts/api/v2/oauth2/token", 200, 0.0, 0.01, None, ()),
        timed("/apis", "a", 1.0),
        timed(NEEDED[0], "a", 1.1),
        timed(NEEDED[1], "a", 1.2, duration=0.05),
        timed("/apis", "b", 1.0),
        timed(NEEDED[0], "b", 1.6),
        timed(NEEDED[1], "b", 1.9, duration=0.1),
        timed(NEEDED[1], "b", 2.5),  # polling again: not part of its first sync
    ]
    assert sync_took(journal[:4], NEEDED) == pytest.approx(0.25)
    assert sync_took(journal, NEEDED) == pytest.approx(1.0)
    assert sync_took([], NEEDED) == 0.0
