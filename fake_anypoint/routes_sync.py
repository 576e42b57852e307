"""The adapter-facing sync API (docs/adapter-contract.md §2.2-2.6): APIs, policies with ETags,
the contracts feed, keep-alives, and analytics ingest on its own origin.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import Field, StrictInt, StrictStr

from .bounded import IngestLimits, inflate, parse_events
from .faults import DataKind
from .httpkit import add, json_response, state_of
from .inputs import Text
from .reqmodels import ApiPath, Body, Query, body, path, query
from .sync_bodies import DEFAULT_FEED_LIMIT

CCS = "/apigateway/ccs/v3/organizations/{org}/environments/{env}"
INGEST_PATH = "/v2/analytics/events"
MAX_FEED_LIMIT = 1000
INGEST_LIMITS_KEY = web.AppKey("ingest_limits", IngestLimits)


def register(app: web.Application) -> None:
    add(app, "GET", f"{CCS}/apis", list_apis, DataKind.APIS)
    add(app, "GET", f"{CCS}/apis/{{api_id}}/policies", get_policies, DataKind.POLICIES)
    add(
        app,
        "GET",
        f"{CCS}/apis/{{api_id}}/contracts",
        get_contracts,
        (DataKind.CONTRACTS, DataKind.APPLICATIONS, DataKind.TIERS),
    )
    add(app, "POST", f"{CCS}/keepalive", keepalive, DataKind.KEEPALIVE)


def register_ingest(app: web.Application) -> None:
    add(app, "POST", INGEST_PATH, ingest, DataKind.INGEST)


async def list_apis(request: web.Request) -> web.Response:
    return json_response(state_of(request).sync_apis(request.match_info["env"]))


def _etag_matches(header: str | None, version: str) -> bool:
    if not header:
        return False
    for tag in header.split(","):
        tag = tag.strip()
        if tag == "*":
            return True
        tag = tag.removeprefix("W/").strip('"')
        if tag == version:
            return True
    return False


async def get_policies(request: web.Request) -> web.Response:
    state = state_of(request)
    api = state.api_in(path(request, ApiPath).api_id, request.match_info["env"])
    version = str(api.policies_version)
    etag = f'"{version}"'
    if _etag_matches(request.headers.get("If-None-Match"), version):
        return web.Response(status=304, headers={"ETag": etag})
    body = state.sync_policies(api.id, request.match_info["env"])
    return json_response(body, headers={"ETag": etag})


def _cursor(value: str) -> str:
    if not value.isdigit():
        raise ValueError(
            f"updatedSince: {value!r} is not a cursor; use the 'cursor' of a previous page"
        )
    return value


class FeedQuery(Query):
    updatedSince: StrictStr | None = None
    limit: int = Field(DEFAULT_FEED_LIMIT, ge=1)

    def since(self) -> int | None:
        return None if self.updatedSince is None else int(_cursor(self.updatedSince))


async def get_contracts(request: web.Request) -> web.Response:
    state = state_of(request)
    api_id = path(request, ApiPath).api_id
    q = query(request, FeedQuery)
    limit = min(q.limit, MAX_FEED_LIMIT)
    self_link = request.path + (f"?{request.query_string}" if request.query_string else "")
    body = state.sync_contracts(api_id, q.since(), limit, request.match_info["env"], self_link)
    return json_response(body)


class Keepalive(Body):
    adapterId: Text
    apiIds: list[StrictInt] = Field(default_factory=list, max_length=100_000)
    version: StrictStr = ""


async def keepalive(request: web.Request) -> web.Response:
    state = state_of(request)
    req = await body(request, Keepalive)
    state.keepalive(req.adapterId, req.apiIds, req.version)
    return web.Response(status=204)


async def ingest(request: web.Request) -> web.Response:
    """Gzip (or plain) JSON array of events; ``X-Batch-Id`` identifies retries. The body is
    inflated in chunks and its events counted as parsed: past the app's ``IngestLimits``, 413."""
    state = state_of(request)
    limits = request.app.get(INGEST_LIMITS_KEY) or IngestLimits()
    batch_id = request.headers.get("X-Batch-Id", "").strip()
    if not batch_id:
        raise ValueError("X-Batch-Id: header missing; send a UUID per batch, reused on retry")
    raw = await request.read()
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    events = parse_events(inflate(raw, encoding, limits), limits)
    duplicate = state.ingest(batch_id, events, len(raw))
    return json_response({"accepted": len(events), "duplicate": duplicate}, status=202)
