"""Header-list operations with Envoy's semantics: merge, set, comma-append, add, remove,
UTF-8 sanitising, header validity, and query-parameter mutation of a path.
"""

from __future__ import annotations

import codecs
import re
from email.utils import formatdate

from simulator.model import Headers, header_value, header_values

_TOKEN = re.compile(r"^:?[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_BAD_VALUE = re.compile(r"[\x00\r\n]")


def lower_keys(headers: Headers) -> Headers:
    return [(k.lower(), v) for k, v in headers]


def merged(headers: Headers) -> dict[str, str]:
    """Envoy's CheckRequest `headers` map: lowercased keys, duplicates joined with ','."""
    out: dict[str, str] = {}
    for k, v in headers:
        key = k.lower()
        out[key] = f"{out[key]},{v}" if key in out else v
    return out


def header_or_none(headers: Headers, name: str) -> str | None:
    """All values of `name` joined with ',', or None."""
    return header_value(headers, name)


def header_values_of(headers: Headers, name: str) -> list[str]:
    return header_values(headers, name)


def has(headers: Headers, name: str) -> bool:
    low = name.lower()
    return any(k.lower() == low for k, _ in headers)


def remove(headers: Headers, name: str) -> Headers:
    low = name.lower()
    return [(k, v) for k, v in headers if k.lower() != low]


def set_header(headers: Headers, name: str, value: str) -> Headers:
    """Envoy `setCopy`: replace every value of `name` with one (kept at the first position)."""
    low = name.lower()
    out: Headers = []
    done = False
    for k, v in headers:
        if k.lower() == low:
            if not done:
                out.append((low, value))
                done = True
        else:
            out.append((k, v))
    if not done:
        out.append((low, value))
    return out


def append_existing(headers: Headers, name: str, value: str) -> Headers:
    """Envoy `appendCopy` guarded by presence: comma-join onto the first value; absent: no-op."""
    low = name.lower()
    out = list(headers)
    for i, (k, v) in enumerate(out):
        if k.lower() == low:
            out[i] = (k, f"{v},{value}" if v else value)
            return out
    return out


def add(headers: Headers, name: str, value: str) -> Headers:
    """Envoy `addCopy`: one more header line."""
    return [*headers, (name.lower(), value)]


def is_removable(name: str) -> bool:
    """Envoy never lets ext_authz remove pseudo-headers or Host."""
    low = name.lower()
    return not low.startswith(":") and low != "host"


def valid_name(name: str) -> bool:
    return bool(_TOKEN.match(name))


def valid_value(value: str) -> bool:
    return not _BAD_VALUE.search(value)


def wire_bytes(value: str) -> bytes:
    """A header value's bytes on the wire: latin-1 (how servers decode raw bytes), else UTF-8."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def sanitize_utf8(data: bytes) -> str:
    """Envoy's string sanitising: every byte that is not valid UTF-8 becomes '!'."""
    return data.decode("utf-8", "asmkit-bang")


def _bang(err: UnicodeError) -> tuple[str, int]:
    assert isinstance(err, UnicodeDecodeError)
    return "!" * (err.end - err.start), err.end


codecs.register_error("asmkit-bang", _bang)


def http_date(epoch: float) -> str:
    return formatdate(epoch, usegmt=True)


def mutate_query(path: str, to_set: list[tuple[str, str]], to_remove: list[str]) -> str:
    """Apply `query_parameters_to_set/remove` as Envoy does: keys end up sorted, untouched
    parameters keep their encoding; without mutations the path is returned unchanged."""
    if not to_set and not to_remove:
        return path
    base, _, query = path.partition("?")
    params: dict[str, list[str]] = {}
    for part in query.split("&") if query else []:
        if not part:
            continue
        k, eq, v = part.partition("=")
        params.setdefault(k, []).append(v if eq else "")
    for k in to_remove:
        params.pop(k, None)
    for k, v in to_set:
        params[k] = [v]
    pairs = [f"{k}={v}" for k in sorted(params) for v in params[k]]
    return f"{base}?{'&'.join(pairs)}" if pairs else base
