"""The stack waits for every adapter replica's own first sync: one replica polling again cannot
stand in for another that has not synced yet (calls are told apart by their login)."""

from __future__ import annotations

from fake_anypoint import JournalEntry
from live.stack import synced_callers

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
