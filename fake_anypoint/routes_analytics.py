"""The (end-of-life) Analytics Event API: ingested events rendered with display-name keys,
filtered by time window and API, as JSON or CSV (research/anypoint.md §2.5, §5.4).
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from .faults import DataKind
from .httpkit import add, json_response, state_of
from .reqmodels import Query, query
from .state import ControlPlaneState

ALWAYS = ("Timestamp", "API ID", "API Name", "API Version ID", "API Version Name")
OPTIONAL = (
    "Application",
    "Application Name",
    "Browser",
    "City",
    "Client IP",
    "Continent",
    "Country",
    "Hardware Platform",
    "Message ID",
    "OS Family",
    "OS Major Version",
    "OS Minor Version",
    "OS Version",
    "Postal Code",
    "Request Outcome",
    "Request Size",
    "Resource Path",
    "Response Size",
    "Response Time",
    "Status Code",
    "Timezone",
    "User Agent Name",
    "User Agent Version",
    "Verb",
    "Violated Policy Name",
)
MAX_RESULTS = 20000
_DURATION = re.compile(r"^(\d+)\s*(ms|s|m|h|d|w)$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def register(app: web.Application) -> None:
    add(
        app,
        "GET",
        "/analytics/1.0/{org}/environments/{env}/events",
        events,
        DataKind.ANALYTICS_QUERY,
    )
    add(app, "GET", "/analytics/1.0/{org}/events", unclassified, DataKind.ANALYTICS_QUERY)


def _parse_time(name: str, raw: str) -> float:
    try:
        value = datetime.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name}: {raw!r} is not an ISO date, e.g. 2026-11-27T08:00:00Z") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value.timestamp()


def _event_time(event: dict[str, Any], fallback: float) -> float:
    raw = event.get("received_ts")
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return raw / 1000.0 if raw > 1e11 else float(raw)
    if isinstance(raw, str) and raw:
        try:
            return _parse_time("received_ts", raw)
        except ValueError:
            return fallback
    return fallback


class EventsQuery(Query):
    format: Literal["json", "csv"]
    fields: str | None = None
    startDate: str | None = None
    endDate: str | None = None
    duration: str | None = None
    maxResults: int = Field(MAX_RESULTS, ge=1)
    apiIds: str = ""
    apiVersionIds: str = ""


def _fields(raw: str | None, fmt: str) -> list[str]:
    if not raw:
        if fmt == "csv":
            raise ValueError("fields: required for format=csv, e.g. fields=Verb.Status%20Code")
        return list(OPTIONAL)
    names = [n.strip() for n in re.split(r"[.,]", raw) if n.strip()]
    for name in names:
        if name not in OPTIONAL and name not in ALWAYS:
            raise ValueError(f"fields: {name!r} is not a field; use some of {', '.join(OPTIONAL)}")
    return [n for n in names if n not in ALWAYS]


def _row(state: ControlPlaneState, event: dict[str, Any], when: float) -> dict[str, Any]:
    api = None
    try:
        api = state.apis.get(int(event.get("api_id") or 0))
    except (TypeError, ValueError):
        api = None
    client_id = event.get("client_id")
    app = next((a for a in state.applications.values() if a.client_id == client_id), None)
    ua = str(event.get("user_agent") or "")
    ua_name, _, ua_version = ua.partition("/")
    violation = event.get("policy_violation")
    received, replied = event.get("received_ts"), event.get("replied_ts")
    response_time: Any = None
    if received is not None and replied is not None:
        response_time = round((_event_time({"received_ts": replied}, when) - when) * 1000)
    disposition = str(event.get("request_disposition") or "processed").upper()
    return {
        "Timestamp": datetime.datetime.fromtimestamp(when, datetime.UTC).isoformat(),
        "API ID": event.get("api_id"),
        "API Name": api.asset_id if api else None,
        "API Version ID": event.get("api_version_id"),
        "API Version Name": api.product_version if api else None,
        "Application": client_id,
        "Application Name": app.name if app else None,
        "Client IP": event.get("client_ip"),
        "Message ID": event.get("event_id") or event.get("transaction_id"),
        "Request Outcome": disposition,
        "Request Size": event.get("request_bytes"),
        "Resource Path": event.get("path"),
        "Response Size": event.get("response_bytes", -1),
        "Response Time": response_time,
        "Status Code": event.get("status_code"),
        "User Agent Name": ua_name or None,
        "User Agent Version": ua_version or None,
        "Verb": event.get("verb"),
        "Violated Policy Name": violation.get("policy_name")
        if isinstance(violation, dict)
        else None,
    }


def _window(q: EventsQuery, now: float) -> tuple[float | None, float]:
    end = _parse_time("endDate", q.endDate) if q.endDate else now
    start = _parse_time("startDate", q.startDate) if q.startDate else None
    duration = q.duration
    if duration:
        match = _DURATION.match(duration.strip())
        if match is None:
            raise ValueError(f"duration: {duration!r} must look like 30d, 12h, 45m or 90s")
        start = end - int(match.group(1)) * _UNITS[match.group(2)]
    return start, end


async def events(request: web.Request) -> web.StreamResponse:
    state = state_of(request)
    q = query(request, EventsQuery)
    fmt = q.format
    fields = _fields(q.fields, fmt)
    start, end = _window(q, state.clock.wall())
    max_results = min(q.maxResults, MAX_RESULTS)
    api_ids = {x for x in q.apiIds.split(",") if x}
    version_ids = {x for x in q.apiVersionIds.split(",") if x}
    rows = []
    for batch in state.analytics_batches():
        for event in batch.events:
            when = _event_time(event, batch.received_wall)
            if (start is not None and when < start) or when > end:
                continue
            if api_ids and str(event.get("api_id")) not in api_ids:
                continue
            if version_ids and str(event.get("api_version_id")) not in version_ids:
                continue
            full = _row(state, event, when)
            rows.append({k: full.get(k) for k in (*ALWAYS, *fields)})
    rows = rows[: max_results or MAX_RESULTS]
    if fmt == "json":
        return json_response(rows)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*ALWAYS, *fields], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return web.Response(text=out.getvalue(), content_type="text/csv")


async def unclassified(request: web.Request) -> web.Response:
    """The org-only variant reports the "Unclassified" environment: nothing here."""
    fmt = query(request, EventsQuery).format
    return json_response([]) if fmt == "json" else web.Response(text="", content_type="text/csv")
