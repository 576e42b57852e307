"""HTTP plumbing shared by every route module: route registration with the data kinds each
route serves, the middleware (faults, bearer auth, JSON errors, journal) and request parsing.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractRoute
from pydantic import ValidationError

from .bounded import TooLargeError
from .exchange import GoneError
from .faults import DataKind, swap_shape
from .model import ConflictError, JournalEntry, NotFoundError
from .quotas import ANALYTICS_LIMIT, PLATFORM_LIMIT, Quota, Quotas, Verdict, quota_kind
from .records import AuthError
from .replay import fill_redacted
from .state import ControlPlaneState

LOG = logging.getLogger("fake_anypoint")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

STATE_KEY = web.AppKey("state", ControlPlaneState)
ROUTES_KEY = web.AppKey("routes", dict)
ADMIN_TOKEN_KEY = web.AppKey("admin_token", str)
ADMIN_TOKEN_HEADER = "X-Asmkit-Admin-Token"
QUOTAS_KEY = web.AppKey("quotas", Quotas)
ROLE_KEY = web.AppKey("role", str)


@dataclass(frozen=True, slots=True)
class RouteInfo:
    """What a route serves (faults withholding any of it hit the route), whether it needs a
    bearer token, and whether its requests are journaled (not the admin API's)."""

    data: frozenset[DataKind]
    auth: bool = True
    journaled: bool = True
    admin: bool = False
    quota: str | None = None


UNKNOWN_ROUTE = RouteInfo(frozenset(), auth=False)
ADMIN = RouteInfo(frozenset(), auth=False, journaled=False, admin=True)


def add(
    app: web.Application,
    method: str,
    path: str,
    handler: Handler,
    data: DataKind | tuple[DataKind, ...] | RouteInfo,
    *,
    auth: bool = True,
) -> None:
    """Register a route with the data kinds it serves (``ADMIN`` for the admin API)."""
    route = app.router.add_route(method, path, handler)
    if isinstance(data, RouteInfo):
        info = data
    else:
        kinds = frozenset(data if isinstance(data, tuple) else (data,))
        info = RouteInfo(kinds, auth, quota=quota_kind(path))
    app[ROUTES_KEY][route] = info


def new_app(
    state: ControlPlaneState,
    client_max_size: int = 64 * 1024 * 1024,
    *,
    admin_token: str | None = None,
    quotas: Quotas | None = None,
    role: str = "platform",
) -> web.Application:
    """An origin of the fake over ``state``: ``role`` is ``platform`` or ``ingest`` (for
    cassette replay); with ``admin_token`` the admin API needs it in the
    ``X-Asmkit-Admin-Token`` header."""
    app = web.Application(middlewares=[control_plane_middleware], client_max_size=client_max_size)
    app[STATE_KEY] = state
    app[ROUTES_KEY] = {}
    app[ROLE_KEY] = role
    app[QUOTAS_KEY] = quotas or Quotas(
        Quota(state.clock, PLATFORM_LIMIT), Quota(state.clock, ANALYTICS_LIMIT)
    )
    if admin_token:
        app[ADMIN_TOKEN_KEY] = admin_token
    return app


def _admin_refused(request: web.Request) -> web.Response | None:
    """401 when the app has an admin token and the request does not carry it."""
    token = request.app.get(ADMIN_TOKEN_KEY)
    if not token:
        return None
    given = request.headers.get(ADMIN_TOKEN_HEADER, "")
    if hmac.compare_digest(given.encode(errors="replace"), token.encode()):
        return None
    return error(401, f"the admin API needs the {ADMIN_TOKEN_HEADER} header (see --admin-token)")


def state_of(request: web.Request) -> ControlPlaneState:
    return request.app[STATE_KEY]


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status,
        text=json.dumps(data, allow_nan=False),
        content_type="application/json",
        headers=headers,
    )


REDIRECTED_TO = "/redirected-by-an-injected-fault"
"""Where a 3xx fault points: a path no route serves (404 to an adapter that follows it)."""


def error(status: int, message: str) -> web.Response:
    """``{status, name, message}``: the fields every error schema of the specs allows."""
    name = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    return json_response({"status": status, "name": name, "message": message}, status=status)


def dotted(loc: tuple[int | str, ...]) -> str:
    """``("limits", 0, "maximumRequests")`` as ``limits[0].maximumRequests``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def validation_message(exc: ValidationError, limit: int = 5) -> str:
    """Pydantic errors, one each: ``field.path: 'value' is not valid: why``."""
    lines = []
    for err in exc.errors()[:limit]:
        where = dotted(err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "missing":
            lines.append(f"{where}: required")
            continue
        if not where:
            lines.append(msg)
            continue
        got = repr(err.get("input"))
        got = got if len(got) <= 80 else got[:77] + "..."
        lines.append(f"{where}: {got} is not valid: {msg}")
    more = len(exc.errors()) - limit
    return "; ".join(lines) + (f"; and {more} more" if more > 0 else "")


def check_scope(request: web.Request) -> None:
    """404 unless the path's organization (and environment) exist."""
    state = state_of(request)
    org = request.match_info.get("org")
    if org is not None and org != state.org_id:
        raise NotFoundError(f"organization {org!r} not found")
    env = request.match_info.get("env")
    if env is not None:
        state.environment(env)


def _route_info(request: web.Request) -> RouteInfo:
    """The registered route's info; unknown paths serve nothing and need no token."""
    match = request.match_info
    if match.http_exception is not None:
        return UNKNOWN_ROUTE
    route: AbstractRoute = match.route
    info: RouteInfo | None = request.app[ROUTES_KEY].get(route)
    return info if info is not None else UNKNOWN_ROUTE


@web.middleware
async def control_plane_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every request: pick a fault, apply it (delay, lost answer, drop, status, malformed), else
    answer (or replay), then journal it. Long because the fault effects must run in that order."""
    state = state_of(request)
    route = _route_info(request)
    if route.admin:
        refused = _admin_refused(request)
        if refused is not None:
            return refused
    started = state.clock.now()
    fault_name: str | None = None
    status = 0
    replayed = False
    try:
        action = state.records.pick_fault(route.data)
        if action is not None:
            fault_name = action.name
            if action.delay_s > 0:
                await asyncio.sleep(action.delay_s)
            if action.lose_response:
                served = await _dispatch(request, handler, state, route.auth)
                LOG.info(
                    "fault %s: %s %s served %d, answer lost",
                    action.name,
                    request.method,
                    request.path,
                    served.status,
                )
            if action.drop:
                if request.transport is not None:
                    request.transport.abort()
                raise asyncio.CancelledError()
            if action.status is not None and action.status < 300:
                resp = await _dispatch(request, handler, state, route.auth)
                resp = other_success(resp, action.status)
                status = resp.status
                return resp
            if action.status is not None:
                faulted = error(action.status, f"injected fault {action.name}")
                if action.status < 400:  # a redirect: to nothing, as a stray proxy would
                    faulted.headers["Location"] = REDIRECTED_TO
                status = faulted.status
                return faulted
            if action.malformed:
                faulted = web.Response(
                    status=200, body=b'{"data": [{"unterminated', content_type="application/json"
                )
                status = 200
                return faulted
            if action.wrong_shape:
                resp = await _dispatch(request, handler, state, route.auth)
                resp, status = _wrong_shape(resp), resp.status
                return resp
        answer = await _replayed(request, handler, state, route)
        if answer is not None:
            replayed, status = True, answer.status
            return answer
        resp = await _dispatch(request, handler, state, route.auth)
        status = resp.status
        return resp
    finally:
        if route.journaled:
            state.records.record(
                JournalEntry(
                    request.method,
                    request.path,
                    status,
                    started,
                    state.clock.now() - started,
                    fault_name,
                    tuple(sorted(kind.value for kind in route.data)),
                    request.query_string,
                    replayed,
                    caller_of(request),
                )
            )


def caller_of(request: web.Request) -> str:
    """A short digest of the request's bearer token: tells logins apart, reveals nothing."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return ""
    return hashlib.sha256(token.strip().encode("utf-8", "replace")).hexdigest()[:10]


def _quota(request: web.Request, caller: str) -> Verdict | None:
    kind = _route_info(request).quota
    if kind is None:
        return None
    quotas = request.app[QUOTAS_KEY]
    return (quotas.analytics if kind == "analytics" else quotas.platform).take(caller)


def _over_quota(request: web.Request, verdict: Verdict) -> web.Response:
    """503 with the rate-limit headers on the platform APIs; 429 on the Analytics Event API."""
    analytics = _route_info(request).quota == "analytics"
    what = "the Analytics Event API" if analytics else "the platform APIs"
    response = error(
        429 if analytics else 503,
        f"more than {verdict.limit} requests per minute to {what}; "
        f"retry in {verdict.retry_after_s} s",
    )
    response.headers.update(verdict.headers())
    response.headers["Retry-After"] = str(verdict.retry_after_s)
    return response


def _wrong_shape(resp: web.StreamResponse) -> web.StreamResponse:
    """A 200 JSON answer with its shape swapped (`faults.swap_shape`); others unchanged."""
    body = getattr(resp, "body", None)
    if resp.status != 200 or resp.content_type != "application/json":
        return resp
    if not isinstance(body, bytes):
        return resp
    swapped = json.dumps(swap_shape(json.loads(body))).encode()
    return web.Response(status=200, body=swapped, content_type="application/json")


def other_success(resp: web.StreamResponse, status: int) -> web.StreamResponse:
    """A success answer sent with another 2xx ``status`` (its body kept, none for a 204);
    an answer that is not a success is left as it is: the fault changes no verdict."""
    if not 200 <= resp.status < 300:
        return resp
    body = getattr(resp, "body", None)
    if status == 204 or not isinstance(body, bytes):
        return web.Response(status=status)
    return web.Response(status=status, body=body, content_type=resp.content_type)


async def _replayed(
    request: web.Request, handler: Handler, state: ControlPlaneState, route: RouteInfo
) -> web.Response | None:
    """The cassette's answer when the state serves one for this request (see ``replay``);
    requests to the fake's own authenticated endpoints must carry a valid token first. Values
    the recording redacted are filled from the fake's own answer when it has one."""
    replay = state.replay
    if replay is None or not route.journaled:
        return None
    known = route is not UNKNOWN_ROUTE
    if known and route.auth:
        try:
            state.records.check_token(request.headers.get("Authorization"))
        except AuthError:
            return None  # the fake itself answers 401
    answer = replay.answer(
        "ingest" if request.app[ROLE_KEY] == "ingest" else "platform",
        request.method,
        request.path,
        list(request.query.keys()),
        request.headers,
        known=known,
    )
    if answer is None:
        return None
    body = answer.body
    if known and answer.redacted:
        own = await _dispatch(request, handler, state, route.auth)
        if isinstance(own, web.Response) and own.status < 400 and isinstance(own.body, bytes):
            body = fill_redacted(body, own.body)
    return web.Response(status=answer.status, body=body, headers=answer.headers)


async def _dispatch(
    request: web.Request, handler: Handler, state: ControlPlaneState, auth: bool
) -> web.StreamResponse:
    try:
        verdict = None
        if auth:
            token = state.records.check_token(request.headers.get("Authorization"))
            verdict = _quota(request, token.subject)
            if verdict is not None and not verdict.allowed:
                return _over_quota(request, verdict)
        check_scope(request)
        response = await handler(request)
        if verdict is not None:
            response.headers.update(verdict.headers())
        return response
    except AuthError as exc:
        return error(401, str(exc))
    except ValidationError as exc:
        return error(400, validation_message(exc))
    except GoneError as exc:
        return error(410, str(exc))
    except NotFoundError as exc:
        return error(404, str(exc))
    except TooLargeError as exc:
        return error(413, str(exc))
    except ConflictError as exc:
        return error(409, str(exc))
    except ValueError as exc:
        return error(400, str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        reason = exc.reason
        if exc.status == 404:
            reason = f"no such endpoint: {request.method} {request.path}"
        elif exc.status == 405:
            reason = f"method {request.method} is not allowed on {request.path}"
        return error(exc.status, reason)
    except Exception as exc:  # a bug in the fake: answer JSON, keep the details in the log
        LOG.exception("fake_anypoint: %s %s failed", request.method, request.path)
        return error(500, f"internal error in the fake control plane: {type(exc).__name__}: {exc}")
