"""Safe YAML loading that keeps node positions, so errors can point at ``file:line:column``.

The data is parsed with libyaml when available (``CSafeLoader``); positions come from a second,
cheap ``compose`` pass only when an error has to be reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class Position:
    """A 1-based line and column in a source file."""

    line: int
    column: int


class YamlSyntaxError(ValueError):
    """The file is not valid YAML: ``problem`` says why, ``position`` says where."""

    def __init__(self, path: Path, problem: str, position: Position | None) -> None:
        where = f"{path}:{position.line}:{position.column}" if position else str(path)
        super().__init__(f"{where}: not valid YAML: {problem}")
        self.problem = problem
        self.position = position


def load_yaml(path: Path) -> Any:
    """Parse ``path`` as YAML (anchors and aliases work), raising ``YamlSyntaxError`` with a
    position when the text is not YAML."""
    text = path.read_text(encoding="utf-8")
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        position = Position(mark.line + 1, mark.column + 1) if mark else None
        raise YamlSyntaxError(path, str(exc.problem), position) from exc


def compose_file(path: Path) -> yaml.Node | None:
    """The YAML node tree of ``path`` (with positions), or None if it cannot be read."""
    try:
        return yaml.compose(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (OSError, yaml.YAMLError):
        return None


def position_of(path: Path, loc: tuple[str | int, ...]) -> Position | None:
    """The position of the node at ``loc`` (mapping keys and sequence indexes) in ``path``."""
    return position_in(compose_file(path), loc)


def position_in(node: yaml.Node | None, loc: tuple[str | int, ...]) -> Position | None:
    """The position of the node at ``loc`` below ``node``.

    Falls back to the deepest existing ancestor when ``loc`` names something absent (a missing
    key is reported where its parent mapping starts).
    """
    if node is None:
        return None
    best = node.start_mark
    for part in loc:
        child = _child(node, part)
        if child is None:
            break
        node, mark = child
        best = mark
    return Position(best.line + 1, best.column + 1)


def _child(node: yaml.Node, part: str | int) -> tuple[yaml.Node, Any] | None:
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == part:
                return value, key.start_mark
        return None
    if (
        isinstance(node, yaml.SequenceNode)
        and isinstance(part, int)
        and 0 <= part < len(node.value)
    ):
        item = node.value[part]
        return item, item.start_mark
    return None
