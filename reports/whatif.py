"""What-if reports: the plain data model (`WhatIfReport`), YAML/JSON data files and a
self-contained HTML page with matplotlib plots (wrong decisions over time around timeline
events, analytics delivery and buffer, the sweep curve). matplotlib is imported only to plot."""

from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import yaml

Estimate = dict[str, Any]
"""``{"mean", "ci_low", "ci_high", "min", "max", "n"}`` of one metric over replications (the
95% interval of the mean, never outside the metric's range)."""


@dataclass
class WhatIfPoint:
    """One sweep point: metric estimates, and the first replication's series and tables."""

    label: str
    value: Any
    metrics: dict[str, Estimate]
    series: dict[str, list[float]] = field(default_factory=dict)
    windows: list[dict[str, Any]] = field(default_factory=list)
    clients: list[dict[str, Any]] = field(default_factory=list)
    quotas: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    x: float | None = None
    """The point's position on a sweep plot (e.g. a duration in seconds); None: categorical."""
    comparison: list[dict[str, Any]] = field(default_factory=list)
    """Live runs only: per metric ``{metric, live, virtual, difference, within_interval}``."""


@dataclass
class WhatIfReport:
    """A what-if run, ready to render."""

    name: str
    question: str
    spec_path: str
    generated: str
    seed: int
    replications: int
    fast: bool
    wall_s: float
    simulated_requests: int
    bin_s: float
    sweep_setting: str | None
    metric_descriptions: dict[str, str]
    timeline: list[dict[str, Any]]
    points: list[WhatIfPoint]
    command: str = ""
    engine: str = "virtual"
    """``virtual`` (SimPy, the reference adapter's cores) or ``live`` (a real adapter)."""
    environment: dict[str, Any] = field(default_factory=dict)
    """Live runs: the adapter, the data plane, the time and rate scales, warnings."""


def report_from_dict(data: Mapping[str, Any]) -> WhatIfReport:
    """Build a `WhatIfReport` from plain data (what the simulator hands over)."""
    fields = dict(data)
    fields["points"] = [WhatIfPoint(**dict(p)) for p in fields.get("points", [])]
    return WhatIfReport(**fields)


def write_whatif_report(
    data: Mapping[str, Any] | WhatIfReport, out_dir: Path, *, fmt: str = "yaml", plots: bool = True
) -> list[Path]:
    """Write the data file and ``report.html`` into ``out_dir``; returns both paths."""
    report = data if isinstance(data, WhatIfReport) else report_from_dict(data)
    return [
        write_whatif_data(report, out_dir, fmt),
        write_whatif_html(report, out_dir, plots=plots),
    ]


def whatif_to_dict(report: WhatIfReport, *, with_series: bool = True) -> dict[str, Any]:
    data = asdict(report)
    if not with_series:
        for point in data["points"]:
            point.pop("series", None)
    return data


def write_whatif_data(report: WhatIfReport, out_dir: Path, fmt: str = "yaml") -> Path:
    """``whatif.yaml`` or ``whatif.json`` in ``out_dir`` (series included)."""
    if fmt not in ("yaml", "json"):
        raise ValueError(f"fmt={fmt!r} is invalid: expected yaml or json")
    out_dir.mkdir(parents=True, exist_ok=True)
    data = whatif_to_dict(report)
    path = out_dir / f"whatif.{fmt}"
    if fmt == "json":
        path.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    else:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
        path.write_text(text, encoding="utf-8")
    return path


# ---- plots ----


def _fmt(est: Estimate | None, digits: int = 4) -> str:
    if not est or est.get("mean") is None:
        return "-"
    mean = est["mean"]
    text = f"{mean:.{digits}g}"
    low, high = est.get("ci_low"), est.get("ci_high")
    if low is None or high is None or high <= low:
        return text
    if abs((mean - low) - (high - mean)) <= 1e-9 * max(1.0, abs(mean)):
        return f"{text} ± {(high - low) / 2:.2g}"
    return f"{text} [{low:.{digits}g}, {high:.{digits}g}]"


def _bound(est: Estimate, key: str, default: float) -> float:
    value = est.get(key)
    return float(value) if value is not None else default


def render_plots(report: WhatIfReport) -> dict[str, bytes]:
    """PNG plots by title. Imports matplotlib (Agg) here, never at module import. Long because it
    declares one plot after another."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots: dict[str, bytes] = {}

    def save(title: str, fig: Any) -> None:
        buf = io.BytesIO()
        fig.tight_layout()
        fig.savefig(buf, format="png", dpi=90)
        plt.close(fig)
        plots[title] = buf.getvalue()

    shown = report.points[:6]
    for key, title in (
        ("wrongly_allowed", "Wrongly allowed requests per bin"),
        ("wrongly_denied", "Wrongly denied requests per bin"),
        ("buffer_held", "Analytics events held (max per bin)"),
        ("analytics_delivered", "Analytics events delivered per bin"),
    ):
        if not any(any(p.series.get(key, [])) for p in shown):
            continue
        fig, ax = plt.subplots(figsize=(9, 3.2))
        for p in shown:
            ys = p.series.get(key, [])
            xs = [i * report.bin_s for i in range(len(ys))]
            ax.step(xs, ys, where="post", label=p.label, linewidth=1)
        for event in report.timeline:
            ax.axvline(event["at_s"], color="grey", linestyle=":", linewidth=1)
            ax.annotate(
                event["label"],
                (event["at_s"], 1),
                xycoords=("data", "axes fraction"),
                fontsize=7,
                rotation=90,
                va="top",
                ha="right",
                color="grey",
            )
        ax.set_xlabel("virtual time (s)")
        ax.set_title(title)
        if len(shown) > 1:
            ax.legend(fontsize=7)
        save(title, fig)
    if report.sweep_setting and len(report.points) > 1:
        numeric = all(p.x is not None for p in report.points)
        xs = [
            float(p.x) if p.x is not None and numeric else float(i)
            for i, p in enumerate(report.points)
        ]
        for name in (
            "wrongly_allowed",
            "enforcement_lag_s",
            "quota_overshoot_max",
            "analytics_dropped",
            "analytics_delay_p99_s",
            "check_latency_p99_ms",
        ):
            ests = [p.metrics.get(name) or {} for p in report.points]
            if all(e.get("mean") in (None, 0) for e in ests):
                continue
            ys = [float(e["mean"]) if e.get("mean") is not None else math.nan for e in ests]
            below = [y - _bound(e, "ci_low", y) for y, e in zip(ys, ests, strict=True)]
            above = [_bound(e, "ci_high", y) - y for y, e in zip(ys, ests, strict=True)]
            fig, ax = plt.subplots(figsize=(6, 3.2))
            ax.errorbar(xs, ys, yerr=[below, above], marker="o", capsize=3)
            if not numeric:
                ax.set_xticks(xs, [str(p.value) for p in report.points])
            ax.set_xlabel(report.sweep_setting)
            ax.set_title(f"{name} over the sweep (95% CI)")
            save(f"Sweep: {name}", fig)
    return plots


# ---- HTML ----

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:75rem;color:#222}
.muted{color:#666} table{border-collapse:collapse;margin:.5rem 0}
td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums} img{max-width:100%}
"""


def _e(value: Any) -> str:
    return escape(value if isinstance(value, str) else json.dumps(value, default=str))


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p class='muted'>none</p>"
    keys = list(rows[0])
    head = "".join(f"<th>{_e(k)}</th>" for k in keys)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(r.get(k))}</td>" for k in keys) + "</tr>" for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def render_html(report: WhatIfReport, plots: dict[str, bytes] | None = None) -> str:
    head = "".join(f"<th>{_e(p.label)}</th>" for p in report.points)
    rows = []
    for name, description in report.metric_descriptions.items():
        cells = "".join(
            f"<td class='n'>{_e(_fmt(p.metrics.get(name)))}</td>" for p in report.points
        )
        rows.append(f"<tr><td title='{_e(description)}'><code>{_e(name)}</code></td>{cells}</tr>")
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>what-if {_e(report.name)}"
        f"</title><style>{_STYLE}</style></head><body>",
        f"<h1>What-if: {_e(report.name)}</h1><p><b>{_e(report.question)}</b></p>",
        f"<p class='muted'>{_e(report.spec_path)} · seed {report.seed} · "
        f"{report.replications} replications · {report.simulated_requests:,} simulated "
        f"requests in {report.wall_s:.1f} s · {'fast path' if report.fast else 'exact engine'}"
        f" · {_e(report.generated)}</p>",
    ]
    if report.command:
        parts.append(f"<p>Reproduce: <code>{_e(report.command)}</code></p>")
    if report.engine == "live":
        env = report.environment
        parts.append(
            f"<p>Live run against <b>{_e(env.get('adapter', '?'))}</b> through the "
            f"{_e(env.get('data_plane', 'simulated'))} data plane; times scaled by "
            f"{_e(env.get('time_scale', 1))}, rates by {_e(env.get('rate_scale', 1))}.</p>"
        )
        for warning in env.get("warnings", []):
            parts.append(f"<p class='muted'>warning: {_e(warning)}</p>")
    parts.append("<h2>Metrics (mean and 95% interval over replications)</h2>")
    parts.append(f"<table><tr><th>metric</th>{head}</tr>{''.join(rows)}</table>")
    for p in report.points:
        if p.comparison:
            parts.append(f"<h2>Live versus virtual prediction: {_e(p.label)}</h2>")
            parts.append(_comparison(p.comparison))
    for title, png in (plots or {}).items():
        data = base64.b64encode(png).decode()
        parts.append(
            f"<h3>{_e(title)}</h3><img alt='{_e(title)}' src='data:image/png;base64,{data}'>"
        )
    parts.append("<h2>Timeline</h2>" + _table(report.timeline))
    for p in report.points:
        parts.append(f"<h2>{_e(p.label)} (first replication)</h2>")
        parts.append("<h3>Control-plane changes</h3>" + _table(p.changes))
        parts.append("<h3>Windows with wrong decisions</h3>" + _table(p.windows))
        parts.append("<h3>Clients</h3>" + _table(p.clients))
        if p.quotas:
            parts.append("<h3>Quotas</h3>" + _table(p.quotas))
    parts.append("</body></html>")
    return "\n".join(parts)


def _comparison(rows: list[dict[str, Any]]) -> str:
    body = "".join(
        f"<tr><td><code>{_e(r['metric'])}</code></td><td class='n'>{_e(_fmt(r['live']))}</td>"
        f"<td class='n'>{_e(_fmt(r['virtual']))}</td><td class='n'>{_e(r['difference'])}</td>"
        f"<td>{_e({True: 'yes', False: 'no', None: '-'}[r['within_interval']])}</td></tr>"
        for r in rows
    )
    return (
        "<table><tr><th>metric</th><th>live</th><th>virtual (reference adapter)</th>"
        f"<th>difference</th><th>within the interval</th></tr>{body}</table>"
    )


def write_whatif_html(report: WhatIfReport, out_dir: Path, *, plots: bool = True) -> Path:
    """``report.html`` in ``out_dir``; plots need matplotlib (the ``report`` extra)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    images = render_plots(report) if plots else None
    path = out_dir / "report.html"
    path.write_text(render_html(report, images), encoding="utf-8")
    return path
