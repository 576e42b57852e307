"""The mutation run: every in-scope mutant against the scenarios that execute it, in a pool of
`worker` processes (each mutant in its own forked child), plus the unmutated baseline run
through the same path. Produces the per-mutant verdicts and the summary figures."""

from __future__ import annotations

import hashlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.mutation.coverage_map import CACHE, ScenarioCoverage, coverage_for, library_names
from benchmarks.mutation.journal import Journal, Outcome, Run, outcome_from_row
from benchmarks.mutation.operators import ROOT, Mutant
from benchmarks.mutation.scope import FILES, OPERATORS, all_mutants

HTTP_ONLY = ("reference_adapter/http_face.py",)
"""Files only the HTTP service-mode profile executes (everything else runs with gRPC)."""
HTTP_FACE_NAMES = ("http_port", "_http_runner")
"""In ``adapter.py``, the names of the HTTP face's start, port and stop."""


def profile_for(mutant: Mutant) -> str:
    """The profile whose runs execute a mutant's code: HTTP service mode for the HTTP face (its
    file, and the adapter code that starts, reports and stops it), gRPC for the rest."""
    if mutant.path in HTTP_ONLY:
        return "http"
    face = mutant.path == "reference_adapter/adapter.py" and any(
        name in f"{mutant.scope} {mutant.original}" for name in HTTP_FACE_NAMES
    )
    return "http" if face else "grpc"


def deadline_for(seconds: float) -> float:
    """How long one scenario may take on a mutant before it is killed by timeout: generous,
    since the machine is shared (a hang, not a slow run, is what this catches)."""
    return round(15.0 + 8.0 * seconds, 1)


@dataclass
class Plan:
    """The scenarios able to judge mutants on one profile, with their lines and durations."""

    profile: str
    judges: list[str]
    coverage: dict[str, ScenarioCoverage]
    unknown: set[str] = field(default_factory=set)
    """Scenarios whose coverage is incomplete (they failed while measured): run for every
    mutant, after the covering ones."""

    def covering(self, mutant: Mutant) -> list[str]:
        if mutant.import_time:
            return list(self.judges)
        start, end = mutant.lines
        wanted = set(range(start, end + 1))
        found = []
        for name in self.judges:
            cov = self.coverage.get(name)
            if (
                name in self.unknown
                or cov is None
                or cov.lines.get(mutant.path, frozenset()) & wanted
            ):
                found.append(name)
        return found

    def job(
        self, mutant: Mutant, covering: list[str], kills: Counter[str], parallel: int
    ) -> dict[str, Any]:
        """The worker job for a mutant: the covering scenarios, likely killers and quick ones
        first (scenarios of unknown coverage last)."""

        def key(name: str) -> tuple[bool, int, float]:
            cov = self.coverage.get(name)
            return (name in self.unknown, -kills[name], cov.seconds if cov else 1.0)

        chosen = sorted(covering, key=key)
        return {
            "id": mutant.id,
            "mutant": {"path": mutant.path, "site": mutant.site},
            "profile": self.profile,
            "scenarios": chosen,
            "deadlines": {
                n: deadline_for(self.coverage[n].seconds if n in self.coverage else 5.0)
                for n in chosen
            },
            "covering": len(covering),
            "parallel": parallel,
        }


@dataclass
class Pool:
    """``workers`` worker processes fed from one queue."""

    workers: int
    nice: int = 19
    _procs: list[subprocess.Popen[str]] = field(default_factory=list)

    def __enter__(self) -> Pool:
        for _ in range(self.workers):
            proc = subprocess.Popen(
                [sys.executable, "-m", "benchmarks.mutation.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                cwd=ROOT,
                preexec_fn=(lambda: os.nice(self.nice)) if self.nice else None,
            )
            assert proc.stdout is not None
            ready = proc.stdout.readline()
            if not ready:
                raise RuntimeError("a mutation worker failed to start")
            self._procs.append(proc)
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self._procs:
            if proc.stdin is not None:
                proc.stdin.close()
        for proc in self._procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()

    def run(
        self,
        jobs: list[Any],
        make: Callable[[Any], dict[str, Any] | None],
        done: Callable[[Any, dict[str, Any]], None],
    ) -> None:
        """Send each job (built by ``make`` at dispatch time, so it sees the latest kill
        counts; None skips it) to a free worker; ``done`` gets each result."""
        todo: queue.Queue[Any] = queue.Queue()
        for job in jobs:
            todo.put(job)
        lock = threading.Lock()

        def serve(proc: subprocess.Popen[str]) -> None:
            assert proc.stdin is not None and proc.stdout is not None
            while True:
                try:
                    item = todo.get_nowait()
                except queue.Empty:
                    return
                with lock:
                    job = make(item)
                if job is None:
                    continue
                proc.stdin.write(json.dumps(job) + "\n")
                proc.stdin.flush()
                line = proc.stdout.readline()
                if not line:
                    raise RuntimeError("a mutation worker died")
                with lock:
                    done(item, json.loads(line))

        threads = [threading.Thread(target=serve, args=(p,)) for p in self._procs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


PRIOR = CACHE / "kills.json"


@dataclass(frozen=True)
class Options:
    """How to run: which mutants (``files`` and ``operators``; only ``ids``, or a seeded
    ``sample``), which scenarios (``only``: name prefixes), how many ``workers`` and scenarios
    at a time per mutant (``parallel``), unmutated ``baseline`` runs, ``coverage_runs`` (0: every
    scenario judges every mutant), ``resume`` from the journal, ``limit_s`` to stop starting
    mutants after that long, the workers' ``nice``."""

    files: tuple[str, ...] = FILES
    operators: frozenset[str] = OPERATORS
    ids: tuple[str, ...] | None = None
    sample: int | None = None
    seed: int = 0
    only: tuple[str, ...] = ()
    workers: int = 2
    parallel: int = 4
    baseline: int = 1
    coverage_runs: int = 2
    resume: bool = True
    limit_s: float | None = None
    journal_dir: Path = CACHE
    nice: int = 19
    """The workers' niceness: a long run yields the machine to other work (then a CPU hog at
    normal priority starves it, and timing scenarios fail in the baseline: use 0 beside one)."""


def judged_prefix(options: Options, progress: Callable[[str], None] | None = None) -> Run:
    """The verdicts journaled so far, without running anything: the longest prefix of the
    seeded order whose mutants all have a verdict (a random sample when the run was stopped
    early), with the baseline of the last run."""
    mutants = choose(options)
    journal = Journal(options.journal_dir)
    earlier = journal.read(mutants, any_library=True)
    prefix: list[Outcome] = []
    for mutant in mutants:
        if mutant.id not in earlier:
            break
        prefix.append(outcome_from_row(mutant, earlier[mutant.id]))
    base = journal.baseline()
    if progress is not None:
        progress(f"{len(prefix)} of {len(mutants)} mutants judged in order"
                 f" ({sum(m.id in earlier for m in mutants)} judged in all)")  # fmt: skip
    prefix.sort(key=lambda o: (o.mutant.path, o.mutant.site))
    seconds = sum(o.seconds for o in prefix) / max(1, options.workers)
    return Run(prefix, len(mutants), base.get("seconds", []), base.get("failures", []),
               base.get("judges", {}), round(seconds, 1), options.workers)  # fmt: skip


def _kill_prior() -> Counter[str]:
    """Kill counts of earlier runs: only the order in which scenarios are tried (the likely
    killers first), never a verdict."""
    try:
        return Counter({str(k): int(v) for k, v in json.loads(PRIOR.read_text()).items()})
    except (OSError, ValueError, AttributeError):
        return Counter()


def _save_kill_prior(kills: Counter[str]) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    PRIOR.write_text(json.dumps(dict(kills.most_common())))


def baseline_runs(
    pool: Pool, profile: str, names: list[str], runs: int, parallel: int
) -> list[dict[str, Any]]:
    """The library on the unmutated adapter, ``runs`` times, through the same workers."""
    results: list[dict[str, Any]] = []
    size = max(1, -(-len(names) // pool.workers))
    parts = [names[i : i + size] for i in range(0, len(names), size)]
    for _ in range(runs):
        started = time.monotonic()
        found: list[dict[str, Any]] = []

        def job(part: list[str]) -> dict[str, Any]:
            deadlines = {n: 120.0 for n in part}
            return {"id": "baseline", "mutant": None, "profile": profile, "scenarios": part,
                    "confirm": False, "parallel": parallel, "deadlines": deadlines,
                    "stop": False}  # fmt: skip

        def keep(_part: list[str], result: dict[str, Any], found: list[Any] = found) -> None:
            found.append(result)

        pool.run(parts, job, keep)
        outcomes = [o for r in found for o in r["outcomes"]]
        results.append({"seconds": time.monotonic() - started, "outcomes": outcomes})
    return results


def choose(options: Options) -> list[Mutant]:
    """The mutants to judge, in a seeded random order (a run stopped early has judged a
    random sample). A mutant's place comes from its id and the seed alone, so code changed
    elsewhere (mutants added or gone) keeps the order of the others: a judged prefix stays
    one, and only the new mutants that land inside it need judging."""
    mutants = all_mutants(options.files, options.operators)
    if options.ids is not None:
        wanted = set(options.ids)
        return [m for m in mutants if m.id in wanted]
    order = sorted(mutants, key=lambda m: rank(options.seed, m.id))
    return order if options.sample is None else order[: options.sample]


def rank(seed: int, mutant_id: str) -> bytes:
    """A mutant's place in the seeded order: a keyed hash of its id (uniform, stable)."""
    return hashlib.blake2b(mutant_id.encode(), digest_size=8, key=str(seed).encode()).digest()


def make_plans(
    pool: Pool, profiles: list[str], options: Options, say: Callable[[str], None]
) -> tuple[dict[str, Plan], list[float], list[list[str]]]:
    """Per profile: coverage, the baseline runs, and the scenarios that may judge (those the
    unmutated adapter passes)."""
    plans: dict[str, Plan] = {}
    seconds: list[float] = []
    failures: list[list[str]] = []
    for profile in profiles:
        names = [n for n in library_names(profile)
                 if not options.only or n.startswith(options.only)]  # fmt: skip
        cov: dict[str, ScenarioCoverage] = {}
        if options.coverage_runs:
            say(f"coverage of the library ({profile})")
            cov = {c.name: c for c in coverage_for(profile, runs=options.coverage_runs)}
        say(f"baseline: the library on the unmutated adapter ({profile}) x{options.baseline}")
        failing: set[str] = set()
        for run in baseline_runs(pool, profile, names, options.baseline, options.parallel):
            failed = sorted(
                o["scenario"] for o in run["outcomes"] if o["outcome"] in ("failed", "error")
            )
            failing.update(failed)
            if profile == "grpc" or len(profiles) == 1:
                seconds.append(round(run["seconds"], 2))
                failures.append(failed)
        judges = [n for n in names if n not in failing]
        unknown = {n for n in judges if n not in cov or cov[n].outcome != "passed"}
        plans[profile] = Plan(profile, judges, cov, unknown)
    return plans, seconds, failures


def run_mutation(options: Options, progress: Callable[[str], None] | None = None) -> Run:
    """Judge the chosen mutants; verdicts of an earlier run are reused (see `Journal`)."""
    started = time.monotonic()
    say = progress or (lambda _text: None)
    mutants = choose(options)
    journal = Journal(options.journal_dir)
    earlier = journal.read(mutants) if options.resume else {}
    outcomes = [outcome_from_row(m, earlier[m.id]) for m in mutants if m.id in earlier]
    if outcomes:
        say(f"{len(outcomes)} verdicts reused from {journal.path}")
    todo = [m for m in mutants if m.id not in earlier]
    profiles = sorted({profile_for(m) for m in todo}) or ["grpc"]
    deadline = started + options.limit_s if options.limit_s else None
    kills = _kill_prior()
    with Pool(options.workers, options.nice) as pool:
        plans, base_seconds, base_failures = make_plans(pool, profiles, options, say)
        journal.save_baseline(base_seconds, base_failures, {p: v.judges for p, v in plans.items()})

        def make(mutant: Mutant) -> dict[str, Any] | None:
            if deadline is not None and time.monotonic() > deadline:
                return None
            plan = plans[profile_for(mutant)]
            covering = plan.covering(mutant)
            if not covering:
                outcomes.append(Outcome(mutant, "not-covered"))
                journal.append(outcomes[-1])
                return None
            return plan.job(mutant, covering, kills, options.parallel)

        def done(mutant: Mutant, result: dict[str, Any]) -> None:
            if result["verdict"] == "error":  # the unmutated adapter fails too: not judged
                say(f"kit error, {mutant.id} left unjudged: {result.get('detail', '')}")
                return
            outcome = Outcome(
                mutant, result["verdict"], result.get("how", ""), result.get("by") or "",
                result.get("detail", ""), result["seconds"],
                len({o["scenario"] for o in result["outcomes"]}), result["covering"],
                result.get("flaky", []),
            )  # fmt: skip
            if outcome.verdict == "killed" and outcome.by:
                kills[outcome.by] += 1
            outcomes.append(outcome)
            journal.append(outcome)
            if len(outcomes) % 25 == 0:
                killed = sum(o.verdict == "killed" for o in outcomes)
                say(f"{len(outcomes)}/{len(mutants)} mutants, {killed} killed")

        say(f"{len(todo)} mutants to run, {options.workers} workers,"
            f" {options.parallel} scenarios at a time")  # fmt: skip
        pool.run(todo, make, done)
    if options.ids is None:
        _save_kill_prior(kills)
    outcomes.sort(key=lambda o: (o.mutant.path, o.mutant.site))
    return Run(
        outcomes,
        len(mutants),
        base_seconds,
        base_failures,
        {p: plan.judges for p, plan in plans.items()},
        round(time.monotonic() - started, 1),
        options.workers,
    )
