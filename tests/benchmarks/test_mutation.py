"""Mutation testing of the suite (`benchmarks.mutation`): every mutant compiles, mutants are
loaded in memory and never written, and a bounded sample runs end to end through the same
worker as the full run: a mutant the library must catch is killed by the right scenario, a
hanging mutant is killed by timeout, an equivalent one survives, the unmutated adapter
passes. The full run is ``asmkit bench mutation`` (docs/mutation.md)."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from benchmarks.mutation.journal import Journal, Outcome, Run
from benchmarks.mutation.operators import ROOT, Mutant, mutants_of, mutated_code
from benchmarks.mutation.report import DOC, ROW, SECTIONS, dispositions, matches, summarise
from benchmarks.mutation.runner import Options, choose, profile_for
from benchmarks.mutation.scope import FILES, OPERATORS, all_mutants

QUOTA = "rate_limiting/quota-per-api"
FIXED = "rate_limiting/fixed-window-from-first-request"
KILLABLE = "windows.py:InMemoryWindows.hit:compare:window[1] < maximum -> window[1] <= maximum"
EQUIVALENT = "windows.py:InMemoryWindows.hit:compare:now >= window[2] -> now > window[2]"
HANGS = (
    "adapter.py:ReferenceAdapter._analytics_loop:drop-call:"
    "await self._sleep('analytics', max(0.0, self.batcher.next_due() - now)) -> pass"
)


def _mutant(mutant_id: str) -> Mutant:
    found = [m for m in all_mutants() if m.id == mutant_id]
    assert found, f"no mutant {mutant_id}"
    return found[0]


def _adapter_digest() -> str:
    hasher = hashlib.sha256()
    for path in sorted((ROOT / "reference_adapter").rglob("*.py")):
        hasher.update(path.read_bytes())
    return hasher.hexdigest()


def test_every_mutant_compiles_and_ids_are_unique() -> None:
    mutants = all_mutants()
    assert len(mutants) > 1000
    assert len({m.id for m in mutants}) == len(mutants)
    assert {m.operator for m in mutants} == OPERATORS
    for mutant in mutants:
        mutated_code(mutant.path, mutant.site)


def test_ids_survive_edits_elsewhere_in_the_file() -> None:
    path = "reference_adapter/windows.py"
    source = (ROOT / path).read_text()
    shifted = source.replace('"""Fixed-window', '"""\n\n\nFixed-window', 1)
    before = {m.id: m.line for m in mutants_of(path, source)}
    after = {m.id: m.line for m in mutants_of(path, shifted)}
    assert before.keys() == after.keys()
    assert all(after[i] == before[i] + 3 for i in before)


def test_the_seeded_order_keeps_its_prefix_when_mutants_come_or_go() -> None:
    """The order is random but fixed per mutant id: dropping mutants (a file changed) or
    adding some leaves the others in the same order, so a judged prefix stays a prefix; a
    sample is the start of the full order, and another seed gives another order."""
    full = choose(Options())
    ids = [m.id for m in full]
    assert sorted(ids) != ids and len(ids) == len(set(ids))
    assert [m.id for m in choose(Options(sample=40))] == ids[:40]
    fewer = Options(files=tuple(f for f in FILES if not f.endswith("windows.py")))
    kept = [m.id for m in choose(fewer)]
    assert kept == [i for i in ids if not i.startswith("windows.py:")]
    assert [m.id for m in choose(Options(seed=1))] != ids


def test_logging_docstrings_and_raise_messages_are_not_mutated() -> None:
    for path in FILES:
        for mutant in mutants_of(path):
            assert not re.match(r"(log|logger|logging)\.", mutant.original), mutant.id
            assert not mutant.original.startswith("raise"), mutant.id


@pytest.fixture(scope="module")
def worker() -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.mutation.worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None and json.loads(proc.stdout.readline())["event"] == "ready"
    yield proc
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(timeout=60)
    assert proc.stdout is not None
    proc.stdout.close()


def _job(proc: subprocess.Popen[str], mutant: Mutant | None, scenarios: list[str],
         deadline: float = 60.0, profile: str = "grpc") -> dict[str, Any]:  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    job = {
        "id": mutant.id if mutant else "baseline",
        "mutant": {"path": mutant.path, "site": mutant.site} if mutant else None,
        "profile": profile,
        "scenarios": scenarios,
        "deadlines": {n: deadline for n in scenarios},
        "parallel": 2,
    }
    proc.stdin.write(json.dumps(job) + "\n")
    proc.stdin.flush()
    result: dict[str, Any] = json.loads(proc.stdout.readline())
    return result


def test_the_unmutated_adapter_passes(worker: subprocess.Popen[str]) -> None:
    result = _job(worker, None, [QUOTA, FIXED])
    assert result["verdict"] == "survived", result
    assert [o["outcome"] for o in result["outcomes"]] == ["passed", "passed"]


def test_an_off_by_one_window_is_killed_by_the_quota_case(worker: subprocess.Popen[str]) -> None:
    before = _adapter_digest()
    result = _job(worker, _mutant(KILLABLE), [QUOTA, FIXED])
    assert result["verdict"] == "killed", result
    assert result["how"] == "failed"
    assert result["by"] in (QUOTA, FIXED)
    assert [o["outcome"] for o in result["outcomes"] if o["scenario"] == result["by"]] == [
        "failed",
        "failed",
    ]  # the kill repeated alone: no flake counts as a kill
    assert _adapter_digest() == before  # the mutant lived in memory only


def test_a_hanging_mutant_is_killed_by_timeout(worker: subprocess.Popen[str]) -> None:
    result = _job(worker, _mutant(HANGS), [QUOTA], deadline=6.0)
    assert result["verdict"] == "killed", result
    assert result["how"] == "timeout"
    assert result["by"] == QUOTA


def test_a_crash_the_unmutated_adapter_shares_is_a_kit_error(
    worker: subprocess.Popen[str],
) -> None:
    """A child that breaks before any scenario (here: a profile the kit cannot load, as when
    main moves under a running harness) breaks without the mutant too: never a kill."""
    result = _job(worker, _mutant(KILLABLE), [QUOTA], profile="no-such-profile")
    assert result["verdict"] == "error", result
    assert "no-such-profile" in result["detail"]


def test_a_crash_from_any_scenario_of_its_batch_is_checked_unmutated(
    worker: subprocess.Popen[str],
) -> None:
    """A batch whose second scenario the kit cannot load crashes the child before anything
    runs; the first scenario alone passes unmutated, so only re-running the whole batch shows
    that the crash is the kit's (on 2026-12-06 three mutants were "killed" that way while the
    library changed under a run)."""
    result = _job(worker, _mutant(KILLABLE), [QUOTA, "robustness/no-such-case"])
    assert result["verdict"] == "error", result
    assert "no-such-case" in result["detail"]


def test_an_equivalent_mutant_survives(worker: subprocess.Popen[str]) -> None:
    result = _job(worker, _mutant(EQUIVALENT), [QUOTA, FIXED])
    assert result["verdict"] == "survived", result


def test_every_disposition_in_the_doc_names_current_mutants() -> None:
    known = dispositions(DOC)
    assert known, f"{DOC} lists no equivalent mutants"
    ids = [m.id for m in all_mutants()]
    for pattern, (kind, why) in known.items():
        assert kind in ("equivalent", "contract gap", "unobservable")
        assert why.strip(), pattern
        assert any(matches(pattern, i) for i in ids), f"{pattern} names no mutant: stale entry"


def test_the_http_face_is_judged_with_the_http_profile() -> None:
    """Its file and the adapter code that starts, reports and stops it run only in HTTP service
    mode; under the gRPC profile such a mutant could never be told from the original."""
    by_profile: dict[str, set[str]] = {}
    for mutant in all_mutants():
        by_profile.setdefault(profile_for(mutant), set()).add(mutant.id)
    http = by_profile["http"]
    assert (
        "adapter.py:ReferenceAdapter.http_port:return-none:return self._http_port -> return None"
        in http
    )
    assert (
        "adapter.py:ReferenceAdapter.start:if-false:settings.http_port is not None -> False" in http
    )
    assert all(i.startswith(("http_face.py:", "adapter.py:")) for i in http)
    assert any(i.startswith("http_face.py:") for i in http)
    assert KILLABLE in by_profile["grpc"] and HANGS in by_profile["grpc"]


def test_every_row_of_the_doc_tables_is_read() -> None:
    """A row the report cannot read (several ids in one cell, say) would leave its mutants
    counted as open survivors without a word: each row names exactly one id or family."""
    section = None
    for number, line in enumerate(DOC.read_text().splitlines(), 1):
        if line.startswith("## "):
            section = SECTIONS.get(line.strip())
        elif section and line.startswith("| `"):
            assert ROW.match(line), f"{DOC.name}:{number}: unreadable row: {line[:80]}"


def test_the_kill_rate_leaves_out_equivalent_and_message_mutants(tmp_path: Path) -> None:
    doc = tmp_path / "mutation.md"
    mutants = all_mutants(("reference_adapter/windows.py",))[:5]
    doc.write_text(f"## Equivalent mutants\n\n| mutant | why |\n| --- | --- |\n"
                   f"| `{mutants[1].id}` | the same answer |\n\n"
                   f"## Contract gaps\n\n| mutant | why |\n| --- | --- |\n"
                   f"| `{mutants[4].id}` | the contract allows it |\n")  # fmt: skip
    outcomes = [
        Outcome(mutants[0], "killed", "failed", QUOTA),
        Outcome(mutants[1], "survived"),
        Outcome(mutants[2], "survived"),
        Outcome(mutants[3], "killed", "timeout", FIXED),
        Outcome(mutants[4], "survived"),
    ]
    summary = summarise(Run(outcomes, 5, [30.0], [[]], {"grpc": [QUOTA, FIXED]}, 60.0, 2), doc)
    assert summary["equivalent"] == 1
    assert summary["killed"] == 2
    assert summary["kill_rate"] == round(2 / 4, 4)
    assert summary["contract_gaps"] == 1
    assert summary["kill_rate_where_decided"] == round(2 / 3, 4)  # the gap left out
    assert summary["killed_by_timeout"] == 1
    assert [r["id"] for r in summary["survivor_list"]] == [mutants[2].id, mutants[4].id]


def test_a_bounded_run_end_to_end(tmp_path: Path) -> None:
    """The same path as ``asmkit bench mutation``, on two mutants and two scenarios: the
    pool, the baseline, the journal (a second run reuses the verdicts) and the report."""
    from benchmarks.mutation.report import write
    from benchmarks.mutation.runner import Options, run_mutation

    options = Options(
        ids=(KILLABLE, EQUIVALENT),
        only=(QUOTA, FIXED),
        workers=1,
        parallel=2,
        baseline=1,
        coverage_runs=0,
        journal_dir=tmp_path,
        nice=0,  # the suite's other tests (and CI's load) run at normal priority beside it
    )
    first = run_mutation(options)
    verdicts = {o.mutant.id: o.verdict for o in first.outcomes}
    evidence = [(o.mutant.id, o.verdict, o.how, o.by, o.detail, o.flaky) for o in first.outcomes]
    assert first.baseline_failures == [[]], (first.baseline_failures, evidence)
    assert verdicts == {KILLABLE: "killed", EQUIVALENT: "survived"}, evidence
    summary = write(first, tmp_path / "report")
    assert summary["killed"] == 1
    assert summary["equivalent"] == 1  # listed in docs/mutation.md
    assert summary["kill_rate"] == 1.0
    assert summary["scenario_kills"] in ({QUOTA: 1}, {FIXED: 1})
    assert (tmp_path / "report" / "mutation.json").exists()
    again = run_mutation(Options(**{**options.__dict__, "baseline": 0}))
    assert {o.mutant.id: o.seconds for o in again.outcomes} == {
        o.mutant.id: o.seconds for o in first.outcomes
    }  # both verdicts came from the journal


def test_a_doubtful_failure_is_settled_against_the_unmutated_adapter() -> None:
    """A scenario that failed once and then passed is run alone on the mutant and on the
    unmutated adapter: failures the unmutated adapter never shows make a kill, else a flake."""
    killable = _mutant(KILLABLE)
    script = (
        "import importlib, json, sys\n"
        "from benchmarks.mutation import worker\n"
        "for n in worker.PRELOAD: importlib.import_module(n)\n"
        "job = json.loads(sys.argv[1])\n"
        "print(json.dumps(worker._settle_doubt(job, job['scenarios'], {})))\n"
    )

    def settle(mutant: dict[str, Any] | None) -> Any:
        job = {"mutant": mutant, "profile": "grpc", "scenarios": [QUOTA]}
        done = subprocess.run([sys.executable, "-c", script, json.dumps(job)], cwd=ROOT,
                              capture_output=True, text=True, timeout=300, check=True)  # fmt: skip
        return json.loads(done.stdout.strip().splitlines()[-1])

    verdict = settle({"path": killable.path, "site": killable.site})
    assert verdict["verdict"] == "killed" and verdict["how"] == "failed-sometimes", verdict
    assert "the unmutated adapter passed all 3" in verdict["detail"]
    assert settle(None) is None


def test_every_adapter_file_is_mutated_or_left_out_with_a_reason() -> None:
    from benchmarks.mutation.scope import LEFT_OUT_FILES

    files = {str(p.relative_to(ROOT)) for p in (ROOT / "reference_adapter").rglob("*.py")}
    assert files == set(FILES) | set(LEFT_OUT_FILES), "decide the scope of new adapter files"
    assert all(LEFT_OUT_FILES.values())


def test_a_kill_outlives_a_later_survivor_of_another_library(tmp_path: Path) -> None:
    """A worktree's older verdicts merged after a kill do not undo it in the report; a later
    survivor of the same library (the kill judged again, and gone) does."""
    mutant = next(m for m in all_mutants(("reference_adapter/schedule.py",)) if "#4" in m.id)
    journal = Journal(tmp_path)
    code = journal.code(mutant.path)

    def row(verdict: str, library: str) -> str:
        return json.dumps({"id": mutant.id, "verdict": verdict, "code": code, "library": library})

    journal.path.write_text(row("killed", "new") + "\n" + row("survived", "old") + "\n")
    assert journal.read([mutant], any_library=True)[mutant.id]["verdict"] == "killed"
    journal.path.write_text(row("killed", "new") + "\n" + row("survived", "new") + "\n")
    assert journal.read([mutant], any_library=True)[mutant.id]["verdict"] == "survived"
