"""The ``state_dir`` step: what an operator or an upgrade may do to a stopped adapter's state
cache. ``foreign`` overwrites every file in each replica's ``{state_dir}`` with a JSON object
the adapter did not write (a cache of another version); ``removed`` deletes the directory. The
rule they test (docs/adapter-contract.md, "A restart during an outage"): a cache the adapter
cannot read as its own is ignored, never enforced as an empty state, and a missing directory is
made again."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from conformance.results import StepFailed
from scenarios.steps import StateDirStep

if TYPE_CHECKING:
    from conformance.runner import ScenarioRun

FOREIGN_CACHE = b'{"written_by": "asmkit", "note": "a state cache this adapter did not write"}\n'
"""Valid JSON of a shape no adapter writes: an adapter that reads any object as its state (a
missing key as an empty list) fails open on it."""
MAX_FILES = 10_000
"""The files overwritten per replica at most: an adapter's cache, not a file tree to walk."""


class TamperError(RuntimeError):
    """The kit could not change the state directory (a file it may not write, say)."""


def _files(root: Path) -> list[Path]:
    """The regular files under ``root``, at most ``MAX_FILES``, walked lazily (no sort: the
    bound must stop the walk, whatever the adapter left there)."""
    found: list[Path] = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            found.append(path)
            if len(found) >= MAX_FILES:
                break
    return found


def tamper(root: Path, action: str) -> str:
    """Apply ``action`` to one replica's state directory; a summary of what changed."""
    try:
        if action == "removed":
            existed = root.exists()
            if existed:
                shutil.rmtree(root)
            return f"{root.name}: removed" if existed else f"{root.name}: already absent"
        files = _files(root)
        if not files:
            raise StepFailed(
                f"the adapter claims state-cache but left no file in its state directory"
                f" ({root}) after a clean stop: nothing to overwrite"
            )
        for path in files:
            path.write_bytes(FOREIGN_CACHE)
    except OSError as exc:
        raise TamperError(f"cannot make the state directory {action}: {exc}") from None
    return f"{root.name}: {len(files)} file(s) overwritten with a foreign cache"


def _kit_error(run: ScenarioRun, message: str) -> StepFailed:
    """The case's premise does not hold (the loader refuses such files; a replica added later
    may still run): no verdict on the adapter."""
    if run.result.error is None:
        run.result.error = f"kit error: {message}"
    return StepFailed(message)


async def run_state_dir(run: ScenarioRun, step: StateDirStep) -> None:
    """Tamper with every replica's state directory (each replica must be stopped)."""
    summaries = []
    for member in run.stack.replicas.members:
        if member.adapter is not None:
            raise _kit_error(
                run, f"replica {member.index + 1} is running: give `adapters: stop` first"
            )
        path = member.variables.get("state_dir")
        if path is None:
            raise _kit_error(run, "this case has no {state_dir}: declare the state-cache feature")
        try:
            summaries.append(tamper(Path(path), step.state_dir))
        except TamperError as exc:
            raise _kit_error(run, str(exc)) from None
    run.note("state_dir", "; ".join(summaries))
