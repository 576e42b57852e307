"""The mutation run's verdict: the kill rate over non-equivalent mutants, survivors with their
disposition from ``docs/mutation.md`` (equivalent, or a contract gap), which scenarios kill
most and which kill none, and the cost. Writes ``mutation.json`` and ``survivors.md``."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.mutation.journal import Outcome, Run
from benchmarks.mutation.operators import ROOT

DOC = ROOT / "docs" / "mutation.md"
ROW = re.compile(r"^\|\s*`(?P<id>[^`]+)`\s*(?:†\s*)?\|\s*(?P<why>.+?)\s*\|\s*$")
"""A table row: the id (a † after it: judged before its file changed), then the reason."""
SECTIONS = {
    "## Equivalent mutants": "equivalent",
    "## Contract gaps": "contract gap",
    "## Not observable by a scenario": "unobservable",
}
"""The doc's tables: equivalent mutants leave the kill rate's denominator; contract gaps
(behaviour the contract leaves open) and unobservable ones (specified, but the scenario format
cannot see it) stay in it as survivors, with the reason."""


def matches(pattern: str, mutant_id: str) -> bool:
    """Whether an id (or a pattern with ``*`` for any text, naming a family) names a mutant."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, mutant_id) is not None


def lookup(known: dict[str, tuple[str, str]], mutant_id: str) -> tuple[str, str] | None:
    """The disposition of a mutant: its own row, else the first family row naming it."""
    if mutant_id in known:
        return known[mutant_id]
    for pattern, found in known.items():
        if "*" in pattern and matches(pattern, mutant_id):
            return found
    return None


def dispositions(doc: Path = DOC) -> dict[str, tuple[str, str]]:
    """Mutant id or family pattern → (``equivalent`` | ``contract gap``, why), from the doc's
    two tables."""
    found: dict[str, tuple[str, str]] = {}
    if not doc.exists():
        return found
    kind: str | None = None
    for line in doc.read_text().splitlines():
        if line.startswith("## "):
            kind = SECTIONS.get(line.strip())
            continue
        match = ROW.match(line)
        if kind is not None and match:
            found[match["id"]] = (kind, match["why"])
    return found


def _row(o: Outcome, disposition: tuple[str, str] | None = None) -> dict[str, Any]:
    m = o.mutant
    row: dict[str, Any] = {
        "id": m.id,
        "where": f"{m.path}:{m.line}",
        "operator": m.operator,
        "change": f"{m.original} -> {m.replacement}",
        "category": m.category,
        "verdict": o.verdict,
    }
    if o.verdict == "killed":
        row.update(how=o.how, by=o.by, detail=o.detail)
    row.update(seconds=o.seconds, scenarios_run=o.scenarios_run, covering=o.covering)
    if o.flaky:
        row["flaky"] = o.flaky
    if disposition is not None:
        row["disposition"], row["why"] = disposition
    return row


def summarise(run: Run, doc: Path = DOC) -> dict[str, Any]:
    """The figures and lists of one run (JSON-able)."""
    known = dispositions(doc)
    behaviour = [o for o in run.outcomes if o.mutant.category == "behaviour"]
    messages = [o for o in run.outcomes if o.mutant.category != "behaviour"]
    kind = {o.mutant.id: (lookup(known, o.mutant.id) or ("", ""))[0] for o in run.outcomes}
    # a mutant shown equivalent counts as equivalent even if a flake "killed" it: such kills
    # are reported (equivalent_but_killed) as evidence of flakes, never counted
    equivalent = [o for o in behaviour if kind[o.mutant.id] == "equivalent"]
    killed = [o for o in behaviour if o.verdict == "killed" and kind[o.mutant.id] != "equivalent"]
    judged = len(behaviour) - len(equivalent)
    survivors = [o for o in behaviour if o.verdict != "killed" and o not in equivalent]
    false_kills = [o for o in equivalent if o.verdict == "killed"]
    decided = judged - sum(kind[o.mutant.id] == "contract gap" for o in survivors)
    by_how = Counter(o.how for o in killed)
    first_kills = Counter(o.by for o in killed if o.by)
    judges = sorted({n for names in run.judges.values() for n in names})
    minutes = run.seconds / 60.0
    baseline = run.baseline_seconds[0] if run.baseline_seconds else None
    return {
        "mutants_chosen": run.chosen,
        "mutants": len(run.outcomes),
        "behaviour_mutants": len(behaviour),
        "killed": len(killed),
        "killed_by_failure": by_how.get("failed", 0),
        "killed_by_timeout": by_how.get("timeout", 0),
        "killed_by_crash": by_how.get("crash", 0),
        "killed_sometimes": by_how.get("failed-sometimes", 0),
        "equivalent": len(equivalent),
        "survivors": len(survivors),
        "survivors_not_covered": sum(o.verdict == "not-covered" for o in survivors),
        "contract_gaps": sum(kind[o.mutant.id] == "contract gap" for o in survivors),
        "unobservable": sum(kind[o.mutant.id] == "unobservable" for o in survivors),
        "kill_rate": round(len(killed) / judged, 4) if judged else None,
        # the suite's power where the contract decides: a contract gap's mutant conforms (the
        # contract allows what it does), so a suite that killed it would fail a right adapter
        "kill_rate_where_decided": round(len(killed) / decided, 4) if decided else None,
        "message_mutants": len(messages),
        "message_killed": sum(o.verdict == "killed" for o in messages),
        "flaky_kills_discarded": sum(len(o.flaky) for o in run.outcomes),
        "equivalent_but_killed": [
            {"id": o.mutant.id, "by": o.by, "detail": o.detail} for o in false_kills
        ],
        "seconds": run.seconds,
        "mutants_per_minute": round(len(run.outcomes) / minutes, 1) if minutes else None,
        "workers": run.workers,
        "baseline_seconds": run.baseline_seconds,
        "baseline_failures": run.baseline_failures,
        "baseline_seconds_per_run": baseline,
        "scenario_kills": dict(first_kills.most_common()),
        "scenarios_killing_none": [n for n in judges if n not in first_kills],
        "survivor_list": [_row(o, lookup(known, o.mutant.id)) for o in survivors],
        "equivalent_list": [_row(o, lookup(known, o.mutant.id)) for o in equivalent],
    }


def write(run: Run, out: Path, doc: Path = DOC) -> dict[str, Any]:
    """Write ``mutation.json`` (every mutant) and ``survivors.md``; returns the summary."""
    summary = summarise(run, doc)
    known = dispositions(doc)
    out.mkdir(parents=True, exist_ok=True)
    every = [_row(o, lookup(known, o.mutant.id)) for o in run.outcomes]
    (out / "mutation.json").write_text(json.dumps({"summary": summary, "mutants": every}, indent=1))
    lines = [
        "# Surviving mutants",
        "",
        f"Kill rate {summary['kill_rate']}: {summary['killed']} killed of"
        f" {summary['behaviour_mutants'] - summary['equivalent']} non-equivalent mutants"
        f" ({summary['equivalent']} equivalent, {summary['survivors']} survivors, of which"
        f" {summary['contract_gaps']} contract gaps); {summary['kill_rate_where_decided']}"
        " where the contract decides (contract gaps left out).",
        "",
        "| mutant | where | disposition |",
        "| --- | --- | --- |",
    ]
    for row in summary["survivor_list"]:
        disposition = row.get("disposition", "open") + (
            ": not covered" if row["verdict"] == "not-covered" else ""
        )
        lines.append(f"| `{row['id']}` | {row['where']} | {disposition} |")
    (out / "survivors.md").write_text("\n".join(lines) + "\n")
    return summary
