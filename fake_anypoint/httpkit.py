"""HTTP plumbing shared by every route module: route registration with the data kinds each
route serves, the middleware (faults, bearer auth, JSON errors, journal) and request parsing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractRoute
from pydantic import ValidationError

from .faults import DataKind
from .model import JournalEntry, NotFoundError
from .records import AuthError
from .replay import fill_redacted
from .state import ControlPlaneState

LOG = logging.getLogger("fake_anypoint")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

STATE_KEY = web.AppKey("state", ControlPlaneState)
ROUTES_KEY = web.AppKey("routes", dict)
ROLE_KEY = web.AppKey("role", str)


@dataclass(frozen=True, slots=True)
class RouteInfo:
    """What a route serves (faults withholding any of it hit the route), whether it needs a
    bearer token, and whether its requests are journaled (not the admin API's)."""

    data: frozenset[DataKind]
    auth: bool = True
    journaled: bool = True


UNKNOWN_ROUTE = RouteInfo(frozenset(), auth=False)
ADMIN = RouteInfo(frozenset(), auth=False, journaled=False)


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
        info = RouteInfo(frozenset(data if isinstance(data, tuple) else (data,)), auth)
    app[ROUTES_KEY][route] = info


def new_app(
    state: ControlPlaneState, client_max_size: int = 64 * 1024 * 1024, *, role: str = "platform"
) -> web.Application:
    """An origin of the fake: ``role`` is ``platform`` or ``ingest`` (for cassette replay)."""
    app = web.Application(middlewares=[control_plane_middleware], client_max_size=client_max_size)
    app[STATE_KEY] = state
    app[ROUTES_KEY] = {}
    app[ROLE_KEY] = role
    return app


def state_of(request: web.Request) -> ControlPlaneState:
    return request.app[STATE_KEY]


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(data), content_type="application/json", headers=headers
    )


def error(status: int, message: str) -> web.Response:
    return json_response({"message": message}, status=status)


async def read_json(request: web.Request) -> Any:
    """The request body as JSON; ValueError (400) naming the problem."""
    raw = await request.read()
    if not raw:
        raise ValueError("body: empty; send a JSON document")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"body: malformed JSON ({exc})") from None


async def read_object(request: web.Request) -> dict[str, Any]:
    data = await read_json(request)
    if not isinstance(data, dict):
        raise ValueError(f"body: expected a JSON object, got {type(data).__name__}")
    return data


def path_int(request: web.Request, name: str) -> int:
    raw = request.match_info[name]
    if not raw.isdigit():
        raise ValueError(f"{name}: {raw!r} in the path must be an integer id")
    return int(raw)


def query_int(
    request: web.Request,
    name: str,
    default: int | None,
    *,
    minimum: int = 0,
    maximum: int | None = None,
) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.strip().lstrip("-").isdigit():
        raise ValueError(f"{name}: {raw!r} must be an integer")
    value = int(raw)
    if value < minimum:
        raise ValueError(f"{name}: {value} must be >= {minimum}")
    if maximum is not None:
        value = min(value, maximum)
    return value


def validation_message(exc: ValidationError, limit: int = 5) -> str:
    """Pydantic errors as one line each: ``field.path: message (got value)``."""
    lines = []
    for err in exc.errors()[:limit]:
        where = ".".join(str(p) for p in err["loc"]) or "body"
        got = repr(err.get("input"))
        got = got if len(got) <= 80 else got[:77] + "..."
        lines.append(f"{where}: {err['msg']} (got {got})")
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
    state = state_of(request)
    route = _route_info(request)
    started = state.clock.now()
    fault_name: str | None = None
    status = 0
    replayed = False
    try:
        action = state.pick_fault(route.data)
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
            if action.status is not None:
                faulted = error(action.status, f"injected fault {action.name}")
                status = faulted.status
                return faulted
            if action.malformed:
                faulted = web.Response(
                    status=200, body=b'{"data": [{"unterminated', content_type="application/json"
                )
                status = 200
                return faulted
        answer = await _replayed(request, handler, state, route)
        if answer is not None:
            replayed, status = True, answer.status
            return answer
        resp = await _dispatch(request, handler, state, route.auth)
        status = resp.status
        return resp
    finally:
        if route.journaled:
            state.record(
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
                )
            )


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
            state.check_token(request.headers.get("Authorization"))
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
        if auth:
            state.check_token(request.headers.get("Authorization"))
        check_scope(request)
        return await handler(request)
    except AuthError as exc:
        return error(401, str(exc))
    except ValidationError as exc:
        return error(400, validation_message(exc))
    except NotFoundError as exc:
        return error(404, str(exc))
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
