"""Envoy's local replies (deny, error, 413, 404, direct responses, redirects): the headers
Envoy puts on them and the connection manager's `local_reply_config` rewrite.
"""

from __future__ import annotations

import json
import re
from typing import Any

from simulator import headers as hdr
from simulator.downstream import HeaderOp
from simulator.features import LocalReplyConfig
from simulator.model import ClientResponse, Decision, Headers

_COMMAND = re.compile(r"%(RESPONSE_CODE|LOCAL_REPLY_BODY|REQ\(([^)]+)\))%")


def apply_ops(headers: Headers, ops: list[HeaderOp]) -> Headers:
    out = list(headers)
    for op, key, value in ops:
        if op == "set":
            out = hdr.set_header(out, key, value)
        elif op == "add":
            out = hdr.add(out, key, value)
        elif op == "add_if_absent":
            if not hdr.has(out, key):
                out = hdr.add(out, key, value)
        elif hdr.has(out, key):  # overwrite_if_exists
            out = hdr.set_header(out, key, value)
    return out


def _command(match: re.Match[str], status: int, body: str, request: Headers) -> Any:
    if match.group(1) == "RESPONSE_CODE":
        return status
    if match.group(1) == "LOCAL_REPLY_BODY":
        return body
    return hdr.header_or_none(request, match.group(2).strip().lower())


def _text(template: str, status: int, body: str, request: Headers) -> str:
    def sub(match: re.Match[str]) -> str:
        value = _command(match, status, body, request)
        return "-" if value is None else str(value)

    return _COMMAND.sub(sub, template)


def format_body(
    config: LocalReplyConfig, status: int, body: str, request: Headers
) -> tuple[bytes, str]:
    """The formatted body and its content type (`body_format`, or Envoy's plain default)."""
    if config.json_format is not None:
        out: dict[str, Any] = {}
        for key, template in config.json_format.items():
            whole = _COMMAND.fullmatch(template)
            out[key] = (
                _command(whole, status, body, request)
                if whole
                else _text(template, status, body, request)
            )
        text = json.dumps(out, separators=(",", ":"), ensure_ascii=False) + "\n"
        return text.encode(), "application/json"
    if config.text_format is not None:
        return _text(config.text_format, status, body, request).encode(), "text/plain"
    return body.encode(), "text/plain"


def local_reply(
    status: int,
    ops: list[HeaderOp],
    body: bytes,
    decision: Decision,
    *,
    wall: float,
    detail: str = "",
    config: LocalReplyConfig | None = None,
    request: Headers | None = None,
) -> ClientResponse:
    """An Envoy local reply: the ops, the local_reply_config rewrite, then content-length and
    a content type for a body (`text/plain` unless the ops set one)."""
    headers = apply_ops([], ops)
    forced_type: str | None = None
    if config is not None:
        text = body.decode("utf-8", "replace")
        for mapper in config.mappers:
            if mapper.status_code_filter == status:
                status = mapper.status_code or status
                text = mapper.body if mapper.body is not None else text
                break
        body, content_type = format_body(config, status, text, request or [])
        if config.text_format is not None or config.json_format is not None:
            forced_type = content_type
    if status == 204 or status < 200:
        body = b""  # the HTTP/1.1 codec sends neither a body nor content-length
        headers = hdr.remove(headers, "content-length")
    else:
        headers = hdr.set_header(headers, "content-length", str(len(body)))
    if body and forced_type is not None:
        headers = hdr.set_header(headers, "content-type", forced_type)
    elif body and not hdr.has(headers, "content-type"):
        headers = hdr.add(headers, "content-type", "text/plain")
    headers = hdr.set_header(headers, "date", hdr.http_date(wall))
    headers = hdr.set_header(headers, "server", "envoy")
    return ClientResponse(
        status=status, headers=headers, body=body, decision=decision, detail=detail
    )
