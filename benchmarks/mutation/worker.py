"""The mutant runner process: ``python -m benchmarks.mutation.worker``. It imports the kit and
the adapter's third-party dependencies once (never the reference adapter), then for each job
read from stdin (one JSON line) forks a child that installs the mutated module in memory,
runs the job's scenarios in order and stops at the first confirmed failure. Each scenario has
a deadline; a child past it is killed. One JSON line per job goes to stdout."""

from __future__ import annotations

import asyncio
import importlib.abc
import importlib.util
import json
import logging
import os
import select
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import CodeType, ModuleType
from typing import Any

from benchmarks.mutation.operators import ROOT, mutated_code

PROFILES = {
    "grpc": ROOT / "conformance/profiles/reference-adapter.yaml",
    "http": ROOT / "conformance/profiles/reference-adapter-http.yaml",
}
PRELOAD = (
    "grpc",
    "grpc.aio",
    "aiohttp.web",
    "httpx",
    "jwt",
    "cryptography.hazmat.primitives.serialization",
    "envoy.service.auth.v3.external_auth_pb2_grpc",
    "google.rpc.status_pb2",
    "pydantic",
    "conformance.runner",
    "live.profile",
    "scenarios",
)
START_DEADLINE_S = 60.0


class _MutantFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves one module of the reference adapter from a mutated code object."""

    def __init__(self, module: str, code: CodeType) -> None:
        self.module = module
        self.code = code

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.module:
            return None
        origin = ROOT / (fullname.replace(".", "/") + ".py")
        return importlib.util.spec_from_file_location(fullname, origin, loader=self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        exec(self.code, module.__dict__)


def install_mutant(path: str, site: int) -> None:
    """Make the next import of ``path``'s module load the mutant (call before any import of
    the reference adapter)."""
    module = path.removesuffix(".py").replace("/", ".")
    if any(name == "reference_adapter" or name.startswith("reference_adapter.")
           for name in sys.modules):  # fmt: skip
        raise RuntimeError("the reference adapter is already imported: cannot mutate it")
    sys.meta_path.insert(0, _MutantFinder(module, mutated_code(path, site)))


def _emit(fd: int, **record: Any) -> None:
    os.write(fd, (json.dumps(record) + "\n").encode())


def _child(job: dict[str, Any], scenarios: list[str], parallel: int, fd: int) -> None:
    """In the forked child: load the mutant and run ``scenarios``, ``parallel`` at a time in
    one event loop; a failure is run again alone to confirm it. One record per event."""
    logging.disable(logging.CRITICAL)
    from conformance.results import Outcome, ScenarioResult
    from conformance.runner import run_scenario
    from live.profile import load_profile
    from scenarios import LIBRARY, load_scenario

    mutant = job.get("mutant")
    if mutant is not None:
        install_mutant(mutant["path"], mutant["site"])
    profile = load_profile(PROFILES[job["profile"]])
    confirm = job.get("confirm", True)
    stop = job.get("stop", True)

    def report(name: str, result: ScenarioResult) -> bool:
        detail = ""
        if result.failure is not None:
            detail = f"{result.failure.step_name}: {result.failure.message}"[:300]
        elif result.error:
            detail = result.error[:300]
        _emit(fd, event="end", scenario=name, outcome=result.outcome.value, detail=detail,
              seconds=round(result.duration_s, 3))  # fmt: skip
        return result.outcome in (Outcome.FAILED, Outcome.ERROR)

    async def run(names: list[str]) -> list[ScenarioResult]:
        sources = [load_scenario(LIBRARY / f"{n}.scenario.yaml") for n in names]
        return list(await asyncio.gather(*(run_scenario(src, profile) for src in sources)))

    _emit(fd, event="ready")
    for start in range(0, len(scenarios), parallel):
        batch = scenarios[start : start + parallel]
        _emit(fd, event="start", scenarios=batch)
        failed = [n for n, r in zip(batch, asyncio.run(run(batch)), strict=True) if report(n, r)]
        confirmed = []
        for name in failed if confirm else ():
            _emit(fd, event="start", scenarios=[name])  # alone, so load cannot explain it
            if report(name, asyncio.run(run([name]))[0]):
                confirmed.append(name)
        if stop and (confirmed or (failed and not confirm)):
            return


@dataclass
class JobRun:
    """What one child reported, read by the worker."""

    records: list[dict[str, Any]] = field(default_factory=list)
    timeout: str | None = None
    crashed: str | None = None
    current: list[str] = field(default_factory=list)


def _run_child(
    job: dict[str, Any], scenarios: list[str], parallel: int, deadlines: dict[str, float]
) -> JobRun:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_fd)
        code = 0
        try:
            _child(job, scenarios, parallel, write_fd)
        except BaseException as exc:  # a mutant may break anything: report, never hang
            try:
                _emit(write_fd, event="crash", error=f"{type(exc).__name__}: {exc}"[:300])
            finally:
                code = 3
        os._exit(code)
    os.close(write_fd)
    run = JobRun()
    buffer = b""
    deadline = time.monotonic() + START_DEADLINE_S
    done = False
    while not done:
        left = deadline - time.monotonic()
        if left <= 0:
            os.kill(pid, signal.SIGKILL)
            run.timeout = run.current[0] if run.current else "<start-up>"
            break
        ready, _, _ = select.select([read_fd], [], [], min(left, 1.0))
        if not ready:
            continue
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            record = json.loads(line)
            run.records.append(record)
            if record["event"] == "start":
                run.current = list(record["scenarios"])
                deadline = time.monotonic() + max(deadlines.get(n, 60.0) for n in run.current)
            elif record["event"] == "end":
                if record["scenario"] in run.current:
                    run.current.remove(record["scenario"])
                if not run.current:
                    deadline = time.monotonic() + START_DEADLINE_S
            elif record["event"] == "crash":
                run.crashed = record["error"]
    os.close(read_fd)
    _, status = os.waitpid(pid, 0)
    if run.timeout is None and run.crashed is None and status != 0:
        run.crashed = f"the child exited with status {status}"
    return run


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Run a job; the verdict is ``killed`` (by ``failed``, ``timeout`` or ``crash``, naming the
    scenario) or ``survived``, with every scenario outcome on the way."""
    started = time.monotonic()
    scenarios: list[str] = list(job["scenarios"])
    deadlines: dict[str, float] = job.get("deadlines", {})
    outcomes: list[dict[str, Any]] = []
    flaky: list[str] = []
    timed_out: set[str] = set()
    verdict: dict[str, Any] = {"verdict": "survived"}
    confirm = bool(job.get("confirm", True))
    parallel = max(1, int(job.get("parallel", 1)))
    while scenarios:
        run = _run_child(job, scenarios, parallel, deadlines)
        ends = [r for r in run.records if r["event"] == "end"]
        outcomes.extend(ends)
        failed = [r for r in ends if r["outcome"] in ("failed", "error")]
        counts: dict[str, int] = {}
        for record in failed:
            counts[record["scenario"]] = counts.get(record["scenario"], 0) + 1
        confirmed = [name for name, n in counts.items() if n >= 2 or not confirm]
        flaky.extend(name for name, n in counts.items() if n == 1 and confirm)
        if confirmed and confirm and _unmutated_fails(job, confirmed[0], deadlines):
            # the unmutated adapter fails it too right now: a flake, not this mutant's doing
            flaky.append(confirmed[0])
            finished = {r["scenario"] for r in ends}
            scenarios = [s for s in scenarios if s not in finished]
            continue
        if confirmed:
            name = confirmed[0]
            detail = next(r["detail"] for r in failed if r["scenario"] == name)
            verdict = {"verdict": "killed", "how": "failed", "by": name, "detail": detail}
        elif run.crashed is not None:
            by = run.current[0] if run.current else None
            if confirm and _unmutated_breaks(job, run.current or scenarios[:1], deadlines):
                # the unmutated adapter breaks the same way (e.g. a profile the running kit
                # cannot read): the kit's fault, never a kill; the run reports it, unjudged
                verdict = {"verdict": "error", "by": by, "detail": run.crashed}
                break
            verdict = {"verdict": "killed", "how": "crash", "by": by, "detail": run.crashed}
        elif run.timeout is not None:
            name = run.timeout
            if (name in timed_out and parallel == 1) or name == "<start-up>" or not confirm:
                limit = deadlines.get(name, START_DEADLINE_S)
                verdict = {"verdict": "killed", "how": "timeout", "by": name,
                           "detail": f"no answer within {limit:g}s"}  # fmt: skip
            else:
                # once more, one at a time from the first unfinished scenario, before judging
                timed_out.add(name)
                parallel = 1
                finished = {r["scenario"] for r in ends}
                scenarios = [s for s in scenarios if s not in finished]
                continue
        break
    if verdict["verdict"] == "survived" and flaky and job.get("doubt", True):
        often = sorted(set(flaky), key=lambda n: (-flaky.count(n), flaky.index(n)))
        verdict = _settle_doubt(job, often[:DOUBT_SCENARIOS], deadlines) or verdict
    verdict["outcomes"] = outcomes
    verdict["flaky"] = flaky
    verdict["seconds"] = round(time.monotonic() - started, 3)
    return verdict


def _unmutated_fails(job: dict[str, Any], name: str, deadlines: dict[str, float]) -> bool:
    """Whether the unmutated adapter fails ``name`` too, run alone once (a kill in doubt)."""
    base = {**job, "mutant": None, "scenarios": [name], "stop": False, "confirm": False}
    run = _run_child(base, [name], 1, deadlines)
    ends = [r for r in run.records if r["event"] == "end"]
    return run.timeout is not None or not ends or ends[0]["outcome"] != "passed"


def _unmutated_breaks(job: dict[str, Any], names: list[str], deadlines: dict[str, float]) -> bool:
    """Whether the unmutated adapter breaks too on the batch a mutant's child crashed in, run
    as that batch ran (together): the crash may come from any of its scenarios (one the
    running kit cannot load, as when main moves under a running harness), not only the
    first."""
    base = {**job, "mutant": None, "scenarios": names, "stop": False, "confirm": False}
    run = _run_child(base, names, len(names), deadlines)
    ends = [r for r in run.records if r["event"] == "end"]
    return (
        run.crashed is not None
        or run.timeout is not None
        or len(ends) < len(names)
        or any(e["outcome"] != "passed" for e in ends)
    )


DOUBT_RUNS = 3
DOUBT_KILLS = 2
DOUBT_SCENARIOS = 4
"""A doubtful scenario runs `DOUBT_RUNS` times alone on the mutant and on the unmutated
adapter; `DOUBT_KILLS` failures on the mutant (none on the original) kill it. At most
`DOUBT_SCENARIOS` scenarios are settled per mutant, those that failed most first."""


def _settle_doubt(
    job: dict[str, Any], names: list[str], deadlines: dict[str, float]
) -> dict[str, Any] | None:
    """A scenario failed once on the mutant and passed when run again: run it alone
    `DOUBT_RUNS` times on the mutant and as often on the unmutated adapter. Repeated failures
    on the mutant (`DOUBT_KILLS`) while the unmutated adapter passes every time make a kill (a
    mutant that breaks a rule only sometimes is still caught); anything else was a flake."""
    for name in names:
        alone = {**job, "scenarios": [name] * DOUBT_RUNS, "stop": False, "confirm": False}
        mutant = _run_child(alone, alone["scenarios"], 1, deadlines)
        failed = [r for r in mutant.records if r["event"] == "end" and r["outcome"] != "passed"]
        if len(failed) + (mutant.timeout is not None) < DOUBT_KILLS:
            continue
        base = {**alone, "mutant": None}
        unmutated = _run_child(base, base["scenarios"], 1, deadlines)
        ends = [r for r in unmutated.records if r["event"] == "end"]
        clean = len(ends) == DOUBT_RUNS and all(r["outcome"] == "passed" for r in ends)
        if clean and unmutated.timeout is None and unmutated.crashed is None:
            times = len(failed) + (mutant.timeout is not None)
            detail = (failed[0]["detail"] if failed else "timeout") + (
                f" (failed {times} of {DOUBT_RUNS} runs alone; the unmutated adapter passed"
                f" all {DOUBT_RUNS})"
            )
            return {"verdict": "killed", "how": "failed-sometimes", "by": name, "detail": detail}
    return None


def main() -> int:
    for name in PRELOAD:
        importlib.import_module(name)
    print(json.dumps({"event": "ready", "pid": os.getpid()}), flush=True)
    parent = os.getppid()
    for line in sys.stdin:
        if os.getppid() != parent:
            return 0  # the run that started this worker is gone: take no more jobs
        if not line.strip():
            continue
        job = json.loads(line)
        result = run_job(job)
        result["id"] = job.get("id")
        result["covering"] = job.get("covering", len(job["scenarios"]))
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
