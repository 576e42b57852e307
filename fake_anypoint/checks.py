"""Input checks shared by the Python API and the HTTP handlers.

Each raises ValueError naming the field, the value and what was expected, and returns the
value normalised to its wire form (camelCase keys for pointcuts and limits).
"""

from __future__ import annotations

from typing import Any


def text(field: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field}: {value!r} must be a non-empty string")
    return value


def boolean(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{field}: {value!r} must be true or false")
    return value


def positive_int(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{field}: {value!r} must be an integer >= 1")
    return value


def int_id(field: str, value: Any) -> int:
    """An id that may arrive as an int or a decimal string (the CLI sends strings)."""
    if isinstance(value, bool):
        raise ValueError(f"{field}: {value!r} must be an integer id")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise ValueError(f"{field}: {value!r} must be an integer id")


def mapping(field: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{field}: {value!r} must be a JSON object")
    return dict(value)


def str_list(field: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{field}: {value!r} must be a list of non-empty strings")
    return list(value)


_POINTCUT_KEYS = {
    "methodRegex": "methodRegex",
    "method_regex": "methodRegex",
    "uriTemplateRegex": "uriTemplateRegex",
    "uri_template_regex": "uriTemplateRegex",
}


def pointcut(field: str, value: Any) -> list[dict[str, str]] | None:
    """``None`` or ``[{methodRegex, uriTemplateRegex}]`` (snake_case keys accepted)."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValueError(
            f"{field}: {value!r} must be null or a list of {{methodRegex, uriTemplateRegex}}"
        )
    out: list[dict[str, str]] = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise ValueError(f"{field}[{i}]: {item!r} must be a mapping")
        entry: dict[str, str] = {}
        for key, v in item.items():
            if key not in _POINTCUT_KEYS:
                raise ValueError(
                    f"{field}[{i}].{key}: unknown key; allowed: method_regex, uri_template_regex"
                )
            entry[_POINTCUT_KEYS[key]] = text(f"{field}[{i}].{key}", v)
        entry.setdefault("methodRegex", ".*")
        entry.setdefault("uriTemplateRegex", ".*")
        out.append(entry)
    return out


_LIMIT_KEYS = {
    "maximum_requests": "maximumRequests",
    "maximumRequests": "maximumRequests",
    "time_period_ms": "timePeriodInMilliseconds",
    "time_period_in_milliseconds": "timePeriodInMilliseconds",
    "timePeriodInMilliseconds": "timePeriodInMilliseconds",
    "visible": "visible",
}


def limits(field: str, value: Any) -> list[dict[str, Any]]:
    """Tier limits ``[{maximumRequests, timePeriodInMilliseconds, visible}]`` (snake accepted)."""
    if not isinstance(value, list) or not value:
        raise ValueError(
            f"{field}: {value!r} must be a non-empty list of "
            "{maximum_requests, time_period_ms, visible}"
        )
    out: list[dict[str, Any]] = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise ValueError(f"{field}[{i}]: {item!r} must be a mapping")
        entry: dict[str, Any] = {}
        for key, v in item.items():
            if key not in _LIMIT_KEYS:
                raise ValueError(
                    f"{field}[{i}].{key}: unknown key; allowed: maximum_requests, "
                    "time_period_ms, visible"
                )
            entry[_LIMIT_KEYS[key]] = v
        for key in ("maximumRequests", "timePeriodInMilliseconds"):
            if key not in entry:
                raise ValueError(f"{field}[{i}]: {key} is required")
            positive_int(f"{field}[{i}].{key}", entry[key])
        entry["visible"] = boolean(f"{field}[{i}].visible", entry.get("visible", True))
        out.append(
            {
                "maximumRequests": entry["maximumRequests"],
                "timePeriodInMilliseconds": entry["timePeriodInMilliseconds"],
                "visible": entry["visible"],
            }
        )
    return out
