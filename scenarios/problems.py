"""Problems with a document, positioned: pydantic's validation errors turned into
``file:line:column: key.path: message (got value)`` with the keys allowed where a key was
unknown, did-you-mean suggestions and the allowed range of a number."""

from __future__ import annotations

import difflib
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from common.yaml_source import Position, position_of
from scenarios.model import Scenario
from scenarios.steps import ACTION_KEYS


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a file."""

    path: Path
    position: Position | None
    loc: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        where = (
            f"{self.path}:{self.position.line}:{self.position.column}"
            if self.position
            else (str(self.path))
        )
        text = f"{where}: {self.loc + ': ' if self.loc else ''}{self.message}"
        return f"{text}\n  hint: {self.hint}" if self.hint else text


class ScenarioError(ValueError):
    """A scenario file is not valid; ``problems`` lists every issue found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def problems_from(
    path: Path, data: Any, exc: ValidationError, *, root: type[BaseModel] = Scenario
) -> list[Problem]:
    """Turn pydantic errors into positioned problems (used for scenarios and profiles). Long because
    each pydantic error kind gets its own wording, one branch each."""
    problems = []
    for error, loc in _relevant(exc.errors()):
        where = dotted(loc)
        kind = error["type"]
        if kind == "extra_forbidden":
            loc = loc or tuple(str(p) for p in error["loc"][-1:])
            allowed = _allowed_keys(root, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            guess = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(
                Problem(
                    path,
                    position_of(path, loc),
                    where,
                    f"unknown key {loc[-1]!r}{guess}",
                    f"allowed keys here: {', '.join(allowed)}" if allowed else None,
                )
            )
        elif kind == "union_tag_not_found" or kind == "union_tag_invalid":
            value = _value_at(data, loc)
            keys = sorted(value, key=str) if isinstance(value, dict) else value
            problems.append(
                Problem(
                    path,
                    position_of(path, loc),
                    where,
                    f"a step needs exactly one action key, got {keys!r}",
                    f"use one of: {', '.join(ACTION_KEYS)} (plus an optional name)",
                )
            )
        elif kind in ("enum", "literal_error"):
            value = _value_at(data, loc)
            allowed = re.findall(r"'([^']*)'", str(error.get("ctx", {}).get("expected", "")))
            close = difflib.get_close_matches(str(value), allowed, n=1)
            guess = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(
                Problem(
                    path,
                    position_of(path, loc),
                    where,
                    f"{value!r} is not allowed here{guess}",
                    f"allowed: {', '.join(allowed)}" if allowed else None,
                )
            )
        elif kind == "missing":
            problems.append(
                Problem(
                    path,
                    position_of(path, loc),
                    where,
                    "required key is missing",
                    f"add {loc[-1]}: ..." if loc else None,
                )
            )
        else:
            value = _value_at(data, loc)
            message = error["msg"].removeprefix("Value error, ")
            if kind == "finite_number":
                message = "must be a finite number" + _range_of(root, loc)
            if "got " not in message:
                message += f" (got {value!r})"
            problems.append(Problem(path, position_of(path, loc), where, message))
    return problems


def _range_of(root: type[BaseModel], loc: tuple[str | int, ...]) -> str:
    """The bounds a numeric field accepts, as text (", between 0 and 1"), from its model."""
    model = root
    for part in loc[:-1]:
        model = _step_into(model, part)
        if model is None:
            return ""
    model = _unwrap_model(model, loc[-1] if loc else None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)) or not loc:
        return ""
    info = model.model_fields.get(str(loc[-1]))
    if info is None:
        return ""
    low = high = None
    for item in info.metadata:
        low = getattr(item, "ge", None) if getattr(item, "ge", None) is not None else low
        low = getattr(item, "gt", None) if getattr(item, "gt", None) is not None else low
        high = getattr(item, "le", None) if getattr(item, "le", None) is not None else high
        high = getattr(item, "lt", None) if getattr(item, "lt", None) is not None else high
    if low is not None and high is not None:
        return f", between {low:g} and {high:g}"
    if low is not None:
        return f", above {low:g}"
    return f", at most {high:g}" if high is not None else ""


_TYPE_TAG = re.compile(
    r"^(constrained-)?(int|float|str|bool|bytes|none)$|^[a-z][a-z-]*\[.*\]$", re.DOTALL
)


def _model_names(model: type[BaseModel] = BaseModel) -> set[str]:
    names = set()
    for sub in model.__subclasses__():
        names.add(sub.__name__)
        names |= _model_names(sub)
    return names


def _union_tag(loc: tuple[Any, ...], i: int, out: list[str | int]) -> bool:
    """Whether ``loc[i]`` is a tag pydantic added for a union member, not a YAML key."""
    part = loc[i]
    if not isinstance(part, str):
        return False
    # a top-level step's action union: ("steps", 0, "request", "request", ...): the first one
    if i == 2 and part in ACTION_KEYS and loc[0] in ("steps", "finally"):
        return True
    # the fault step's own union: ("fault", "fault" | "clear", ...) -> ("fault", ...)
    if part in ("fault", "clear") and out[-1:] == ["fault"]:
        return True
    # a plain union: "int", "constrained-int", "list[...]", or a model's class name
    return bool(_TYPE_TAG.search(part)) or (part[:1].isupper() and part in _model_names())


def _clean_loc(loc: tuple[Any, ...]) -> tuple[tuple[str | int, ...], bool]:
    """The YAML path of an error's loc, and whether it went through a union's tag."""
    out: list[str | int] = []
    tagged = False
    for i, part in enumerate(loc):
        if _union_tag(loc, i, out):
            tagged = True
            continue
        out.append(part)
    return tuple(out), tagged


def _relevant(errors: list[Any]) -> list[tuple[Any, tuple[str | int, ...]]]:
    """Errors with clean locs; of a union's alternatives only the most specific complaint per
    place (``status: [200, 0]`` is "status[1] too low", not also "status is not a number")."""
    cleaned = [(error, *_clean_loc(error["loc"])) for error in errors]
    union_locs = [loc for _, loc, tagged in cleaned if tagged]
    out: list[tuple[Any, tuple[str | int, ...]]] = []
    seen: set[tuple[str | int, ...]] = set()
    for error, loc, tagged in cleaned:
        if tagged:
            deeper = any(len(other) > len(loc) and other[: len(loc)] == loc for other in union_locs)
            if deeper or loc in seen:
                continue
            seen.add(loc)
        out.append((error, loc))
    return out


def dotted(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _value_at(data: Any, loc: tuple[str | int, ...]) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _allowed_keys(root: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """Field names of the model that validates the mapping at ``loc``."""
    model: Any = root
    for part in loc:
        model = _step_into(model, part)
        if model is None:
            return []
    model = _unwrap_model(model, None)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or name for name, f in model.model_fields.items()]
    return []


def _step_into(tp: Any, part: str | int) -> Any:
    tp = _unwrap_model(tp, part)
    if isinstance(part, int):
        args = typing.get_args(tp)
        return args[0] if args else None
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, info in tp.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
        return None
    if typing.get_origin(tp) is dict:
        return typing.get_args(tp)[1]
    return None


def _unwrap_model(tp: Any, next_key: str | int | None) -> Any:
    """Strip Annotated/Optional/unions down to the member that can hold ``next_key``."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            members = [
                typing.get_args(m)[0] if typing.get_origin(m) is typing.Annotated else m
                for m in members
            ]
            chosen = None
            for member in members:
                if (isinstance(next_key, int) and typing.get_origin(member) is list) or (
                    isinstance(member, type)
                    and issubclass(member, BaseModel)
                    and (
                        next_key is None
                        or any(next_key in (n, f.alias) for n, f in member.model_fields.items())
                    )
                ):
                    chosen = member
                if chosen is not None:
                    break
            if chosen is None:
                chosen = next(
                    (m for m in members if isinstance(m, type) and issubclass(m, BaseModel)),
                    members[0] if members else None,
                )
            tp = chosen
            continue
        return tp
