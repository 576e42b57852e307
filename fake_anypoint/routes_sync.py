"""The adapter-facing sync API (docs/adapter-contract.md §2.2-2.6): APIs, policies with ETags,
the contracts feed, keep-alives, and analytics ingest on its own origin.
"""

from __future__ import annotations

import gzip
import json
import zlib

from aiohttp import web

from .faults import DataKind
from .httpkit import add, json_response, path_int, query_int, read_object, state_of
from .sync_bodies import DEFAULT_FEED_LIMIT

CCS = "/apigateway/ccs/v3/organizations/{org}/environments/{env}"
INGEST_PATH = "/v2/analytics/events"
MAX_FEED_LIMIT = 1000


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
    api = state.api_in(path_int(request, "api_id"), request.match_info["env"])
    version = str(api.policies_version)
    etag = f'"{version}"'
    if _etag_matches(request.headers.get("If-None-Match"), version):
        return web.Response(status=304, headers={"ETag": etag})
    body = state.sync_policies(api.id, request.match_info["env"])
    return json_response(body, headers={"ETag": etag})


async def get_contracts(request: web.Request) -> web.Response:
    state = state_of(request)
    api_id = path_int(request, "api_id")
    since_raw = request.query.get("updatedSince")
    since: int | None = None
    if since_raw is not None and since_raw != "":
        if not since_raw.isdigit():
            raise ValueError(
                f"updatedSince: {since_raw!r} is not a cursor; use the 'cursor' of a previous page"
            )
        since = int(since_raw)
    limit = query_int(request, "limit", DEFAULT_FEED_LIMIT, minimum=1, maximum=MAX_FEED_LIMIT)
    assert limit is not None
    self_link = request.path + (f"?{request.query_string}" if request.query_string else "")
    body = state.sync_contracts(api_id, since, limit, request.match_info["env"], self_link)
    return json_response(body)


async def keepalive(request: web.Request) -> web.Response:
    state = state_of(request)
    body = await read_object(request)
    adapter_id = body.get("adapterId")
    if not isinstance(adapter_id, str) or not adapter_id:
        raise ValueError(f"adapterId: {adapter_id!r} must be a non-empty string")
    api_ids = body.get("apiIds", [])
    if not isinstance(api_ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in api_ids
    ):
        raise ValueError(f"apiIds: {api_ids!r} must be a list of integer API ids")
    version = body.get("version", "")
    if not isinstance(version, str):
        raise ValueError(f"version: {version!r} must be a string")
    state.keepalive(adapter_id, api_ids, version)
    return web.Response(status=204)


async def ingest(request: web.Request) -> web.Response:
    """Gzip (or plain) JSON array of events; ``X-Batch-Id`` identifies retries."""
    state = state_of(request)
    batch_id = request.headers.get("X-Batch-Id", "").strip()
    if not batch_id:
        raise ValueError("X-Batch-Id: header missing; send a UUID per batch, reused on retry")
    raw = await request.read()
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        try:
            data = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"body: Content-Encoding gzip but not gzip data ({exc})") from None
    elif encoding in ("", "identity"):
        data = raw
    else:
        raise ValueError(f"Content-Encoding: {encoding!r} is not supported; use gzip")
    try:
        events = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"body: malformed JSON ({exc})") from None
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise ValueError("body: expected a JSON array of event objects")
    duplicate = state.ingest(batch_id, events, len(raw))
    return json_response({"accepted": len(events), "duplicate": duplicate}, status=202)
