"""List queries of the public APIs: ``offset``, ``limit``, ``sort``, ``ascending``, ``query``.

Sorting keys are named per list; a bad value is a 400 that names the parameter and the choices.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from .reqmodels import Paging

T = TypeVar("T")


def page(
    paging: Paging,
    items: Sequence[T],
    sort_keys: dict[str, Callable[[T], Any]],
    *,
    default_sort: str,
    default_ascending: bool = True,
    text: Callable[[T], str] | None = None,
) -> tuple[int, list[T]]:
    """Filter by ``query`` (substring of ``text``), sort, then slice; returns (total, page)."""
    query = paging.query.strip().lower()
    found = list(items)
    if query and text is not None:
        found = [i for i in found if query in text(i).lower()]
    sort = paging.sort or default_sort
    if sort not in sort_keys:
        raise ValueError(f"sort: {sort!r} is not supported; use one of {', '.join(sort_keys)}")
    ascending = default_ascending if paging.ascending is None else paging.ascending
    found.sort(key=sort_keys[sort], reverse=not ascending)
    offset, limit = paging.offset, paging.limit
    total = len(found)
    window = found[offset:] if limit is None else found[offset : offset + limit]
    return total, window
