"""The HTTP service-mode data-plane face (aiohttp.web), answering as Envoy's ``http_service``
expects: 200 allows (upstream mutations as response headers, removals through
``x-envoy-auth-headers-to-remove``), any other status denies with that status and body."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from reference_adapter.model import CheckInput, Decision, Denial

Handler = Callable[[CheckInput], Awaitable[Decision]]
API_ID_HEADER = "x-asm-api-id"
REMOVE_HEADER = "x-envoy-auth-headers-to-remove"
INTERNAL_ERROR = Denial.of(500, "internal error in the adapter")
log = logging.getLogger("reference_adapter.http")


class _BadRequests(logging.Filter):
    """aiohttp logs every malformed request with a traceback at ERROR (it answers 400): one
    warning line without the traceback is enough for a client's mistake, and a client cannot
    flood the adapter's log with tracebacks."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and (exc.code or 500) < 500:
            record.msg = f"bad HTTP request answered {exc.code}: {str(exc.message)[:200]!r}"
            record.args = ()
            record.exc_info = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


SERVER_LOG = logging.getLogger("reference_adapter.http.server")
SERVER_LOG.addFilter(_BadRequests())


def _text(value: str) -> str:
    """``value`` as valid Unicode: aiohttp keeps bytes that are not UTF-8 as lone surrogates
    (surrogateescape); they become U+FFFD, as Envoy's gRPC face delivers them."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return value


async def check_input(request: web.Request, path_prefix: str = "") -> CheckInput:
    """The `CheckInput` for an HTTP-mode auth request (the API id from ``x-asm-api-id``)."""
    headers: dict[str, str] = {}
    for key, raw in request.headers.items():
        name, value = _text(key).lower(), _text(raw)
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    path = _text(request.raw_path)
    if path_prefix and path.startswith(path_prefix):
        path = path[len(path_prefix) :] or "/"
    body: bytes | None = None
    if request.can_read_body:
        body = await request.read() or None
    # Envoy's use_remote_address sets it to the client's address (a client's own value is
    # replaced); x-forwarded-for is the client's to write, so never the client address.
    source_ip = headers.get("x-envoy-external-address") or request.remote or ""
    return CheckInput(
        api_id=headers.get(API_ID_HEADER, ""),
        method=_text(request.method),
        path=path,
        headers=headers,
        source_ip=source_ip,
        body=body,
        host=headers.get("host", ""),
        scheme=headers.get("x-forwarded-proto", "http"),
        request_id=headers.get("x-request-id", ""),
        size=request.content_length or (len(body) if body else 0),
        service=headers.get("x-asm-service", ""),
    )


def http_response(decision: Decision) -> web.Response:
    """The auth server's answer for a decision."""
    if decision.allowed:
        response = web.Response(status=200)
        for name, value in decision.upstream_set:
            response.headers[name] = value
        for name, value in decision.upstream_append:
            response.headers.add(name, value)
        for name, value in decision.response_headers:
            response.headers[name] = value
        for name, value in decision.response_append:
            response.headers.add(name, value)
        if decision.upstream_remove:
            response.headers[REMOVE_HEADER] = ", ".join(decision.upstream_remove)
        return response
    response = web.Response(status=decision.status, body=decision.body)
    for name, value in decision.headers:
        response.headers[name] = value
    return response


def make_app(handler: Handler, path_prefix: str = "") -> web.Application:
    async def authorize(request: web.Request) -> web.Response:
        check = await check_input(request, path_prefix)
        try:
            decision = await handler(check)
        except Exception:  # answered as the gRPC face does: a JSON 500, never a bare page
            log.exception("HTTP ext_authz check failed; answering 500")
            decision = Decision(check.api_id).deny(INTERNAL_ERROR, None)
        return http_response(decision)

    # Envoy forwards up to 60 KiB of request headers (max_request_headers_kb); aiohttp stops
    # at 8 KiB per header by default, which would turn a long header into a 400
    app = web.Application(handler_args={"max_field_size": 65536, "max_line_size": 65536})
    app.router.add_route("*", "/{tail:.*}", authorize)
    return app


async def start_http_server(
    handler: Handler, port: int = 0, host: str = "127.0.0.1", path_prefix: str = ""
) -> tuple[web.AppRunner, int]:
    """Serve ``handler`` in HTTP service mode on ``host:port`` (0: ephemeral); returns the
    runner (call ``cleanup()`` to stop) and the bound port."""
    runner = web.AppRunner(make_app(handler, path_prefix), access_log=None, logger=SERVER_LOG)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    sockets = getattr(server, "sockets", None) or []
    bound = int(sockets[0].getsockname()[1]) if sockets else port
    return runner, bound
