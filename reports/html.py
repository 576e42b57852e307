"""Rendering a ``ConformanceReport`` as one self-contained HTML page (``report.html``): the
summary first, then every failure with its expected-vs-actual diff, trace, control-plane journal,
analytics received and the command that reproduces it, then all cases."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from reports.model import CaseReport, ConformanceReport

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#222}
h1{margin-bottom:.2rem} .muted{color:#666} table{border-collapse:collapse;margin:.5rem 0}
td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
.passed{color:#137333}.failed,.error{color:#b3261e;font-weight:bold}.not_supported,.skipped,.not_run{color:#666}
.success{background:#e6f4ea}.partial{background:#fef7e0}.failure{background:#fce8e6}
pre{background:#f6f8fa;padding:.5rem;overflow-x:auto;font-size:.85rem}
details{margin:.3rem 0} .late{color:#b06000} .exp{color:#137333} .act{color:#b3261e}
"""


def _e(value: Any) -> str:
    return escape(value if isinstance(value, str) else json.dumps(value, default=str))


def _failure_block(case: CaseReport) -> str:
    parts = [
        f"<h3 id='{_e(case.name)}' class='failed'>{_e(case.name)}</h3>",
        f"<p>{_e(case.description)}</p>",
    ]
    if case.failure:
        f = case.failure
        parts.append(
            f"<p><b>Step</b> '{_e(f.step)}' at <code>{_e(f.location)}</code>: {_e(f.message)}</p>"
        )
        if f.mismatches:
            rows = "".join(
                f"<tr><td><code>{_e(m.field)}</code></td><td class='exp'>{_e(m.expected)}</td>"
                f"<td class='act'>{_e(m.actual)}</td></tr>"
                for m in f.mismatches
            )
            parts.append(
                f"<table><tr><th>field</th><th>expected</th><th>actual</th></tr>{rows}</table>"
            )
            parts.extend(_nearest_block(m.nearest) for m in f.mismatches if m.nearest)
    if case.error:
        parts.append(f"<pre>{_e(case.error)}</pre>")
    if case.reproduce:
        parts.append(f"<p>Reproduce:</p><pre>{_e(case.reproduce)}</pre>")
    trace = "\n".join(f"{t['at']:>8.3f}s  {t['kind']:<14} {t['summary']}" for t in case.trace)
    parts.append(f"<details open><summary>Trace</summary><pre>{_e(trace)}</pre></details>")
    journal = "\n".join(
        f"{j['at']:>8.3f}s  {j['method']:<6} {j['path']} -> {j['status']}"
        + (f"  [fault: {j['fault']}]" if j.get("fault") else "")
        for j in case.control_plane_journal
    )
    parts.append(
        f"<details><summary>Control-plane journal ({len(case.control_plane_journal)}"
        f" calls)</summary><pre>{_e(journal)}</pre></details>"
    )
    parts.append(
        f"<details><summary>Analytics received</summary>"
        f"<pre>{_e(json.dumps(case.analytics, indent=2, default=str))}</pre></details>"
    )
    return "\n".join(parts)


def _nearest_block(nearest: tuple[dict[str, Any], ...]) -> str:
    """The received items closest to a failed expectation, each with its differing fields."""
    items = []
    for item in nearest:
        rows = "".join(
            f"<tr><td><code>{_e(d['field'])}</code></td><td class='exp'>{_e(d['expected'])}"
            f"</td><td class='act'>{_e(d['received'])}</td></tr>"
            for d in item.get("differences", [])
        )
        items.append(
            f"<li>event <code>{_e(item.get('event_id') or '?')}</code>"
            f"<table class='nearest'><tr><th>field</th><th>expected</th><th>received</th></tr>"
            f"{rows}</table></li>"
        )
    return f"<p>Nearest events received:</p><ol>{''.join(items)}</ol>"


def _late(case: CaseReport, timeout_ms: int) -> str:
    if not case.late_checks:
        return ""
    return (
        f" <span class='late'>{case.late_checks} late answers (slowest"
        f" {1000 * case.slowest_check_s:.0f}ms, timeout {timeout_ms}ms)</span>"
    )


def render_html(report: ConformanceReport) -> str:
    impl = report.implementation
    profiles = "".join(
        f"<tr><td>{_e(p.name)}</td><td class='{p.core.result}'>{p.core.result}</td>"
        f"<td class='{p.extended.result}'>{p.extended.result}</td><td>{_e(p.summary)}</td></tr>"
        for p in report.profiles
    )
    counts: dict[str, int] = {}
    for case in report.cases:
        counts[case.outcome] = counts.get(case.outcome, 0) + 1
    cases = "".join(
        f"<tr><td><a href='#{_e(c.name)}'>{_e(c.name)}</a></td><td class='{c.outcome}'>{c.outcome}"
        f"</td><td>{_e(', '.join(c.features))}</td><td>{c.duration_s:.2f}s</td>"
        f"<td>{_e(', '.join(f'{n}: {s:g}s' for n, s in c.time_to_consistency))}</td>"
        f"<td>{_e(c.reason)}{_late(c, report.ext_authz_timeout_ms)}</td></tr>"
        for c in report.cases
    )
    coverage = "".join(
        f"<tr><td>{_e(f)}</td><td>{n}</td></tr>"
        for f, n in sorted(report.coverage.cases_per_feature.items())
    )
    failures = "\n".join(
        _failure_block(c) for c in report.cases if c.outcome in ("failed", "error")
    )
    waivers = "".join(
        f"<li><code>{_e(name)}</code>: {_e(reason)}</li>" for name, reason in report.waivers.items()
    )
    waivers = f"<p>Waived conventions:</p><ul>{waivers}</ul>" if waivers else ""
    by = f" by {_e(report.interrupted_by)}" if report.interrupted_by else ""
    interrupted = (
        f"<p class='failed'>The run was interrupted{by}; {len(report.not_run)} case(s) did not"
        f" run: {_e(', '.join(report.not_run))}.</p>"
        if report.interrupted
        else ""
    )
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>asmkit conformance: {_e(impl.project)} {_e(impl.version)}</title><style>{_STYLE}</style>
</head><body>
<h1>Conformance: {_e(impl.project)} {_e(impl.version)}</h1>
<p class="muted">{_e(impl.organization)} &middot; {_e(report.date)} &middot; asmkit
{_e(report.kit_version)} &middot; data plane {_e(report.data_plane)}
({_e(report.ext_authz_transport)})
&middot; {report.duration_s:.1f}s</p>
{interrupted}
<h2 class="{report.result}">Result: {report.result}</h2>
<p>{_e(", ".join(f"{n} {k}" for k, n in sorted(counts.items())))}</p>
<table><tr><th>profile</th><th>core</th><th>extended</th><th>summary</th></tr>{profiles}</table>
<p>Command: <code>{_e(report.command)}</code></p>
{waivers}
<h2>Failures</h2>{failures or "<p>None.</p>"}
<h2>Cases</h2>
<table><tr><th>case</th><th>outcome</th><th>features</th><th>duration</th>
<th>time to consistency</th><th>note</th></tr>{cases}</table>
<h2>Coverage</h2><p class="muted">Cases per feature in the library (separate from the pass rate).
Features without cases: {_e(", ".join(report.coverage.features_without_cases) or "none")}.</p>
<table><tr><th>feature</th><th>cases</th></tr>{coverage}</table>
</body></html>
"""


def write_html(report: ConformanceReport, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
    return path
