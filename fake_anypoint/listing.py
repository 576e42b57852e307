"""List queries of the public APIs: ``offset``, ``limit``, ``sort``, ``ascending``, ``query``.

Sorting keys are named per list; a bad value is a 400 that names the parameter and the choices.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from aiohttp import web

from .httpkit import query_int

T = TypeVar("T")


def flag(request: web.Request, name: str, default: bool) -> bool:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise ValueError(f"{name}: {raw!r} must be true or false")


def page(
    request: web.Request,
    items: Sequence[T],
    sort_keys: dict[str, Callable[[T], Any]],
    *,
    default_sort: str,
    default_ascending: bool = True,
    text: Callable[[T], str] | None = None,
) -> tuple[int, list[T]]:
    """Filter by ``query`` (substring of ``text``), sort, then slice; returns (total, page)."""
    query = request.query.get("query", "").strip().lower()
    found = list(items)
    if query and text is not None:
        found = [i for i in found if query in text(i).lower()]
    sort = request.query.get("sort") or default_sort
    if sort not in sort_keys:
        raise ValueError(f"sort: {sort!r} is not supported; use one of {', '.join(sort_keys)}")
    ascending = flag(request, "ascending", default_ascending)
    found.sort(key=sort_keys[sort], reverse=not ascending)
    offset = query_int(request, "offset", 0) or 0
    limit = query_int(request, "limit", None, minimum=0)
    total = len(found)
    window = found[offset:] if limit is None else found[offset : offset + limit]
    return total, window
