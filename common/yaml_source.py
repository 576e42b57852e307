"""The one YAML reader of the kit: safe tags only, bounded against hostile files (size, nesting
depth, alias expansion, duplicate keys), and node positions for ``file:line:column`` errors.

It parses with libyaml when PyYAML has it (``CSafeLoader``, several times faster) and with the
pure-Python ``SafeLoader`` otherwise; the library's files read the same with both (a test holds
them to it). Data is built from the checked node tree, so both loaders get the same bounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_BYTES = 8 * 1024 * 1024
"""The largest file read (8 MiB): no document of the kit comes near it."""
MAX_DEPTH = 64
"""The deepest nesting of mappings and sequences."""
MAX_NODES = 1_000_000
"""The most nodes a document may expand to once aliases are followed (billion laughs)."""


@dataclass(frozen=True, slots=True)
class Position:
    """A 1-based line and column in a source file."""

    line: int
    column: int


class YamlSyntaxError(ValueError):
    """The file cannot be read as a YAML document: ``problem`` says why, ``position`` where."""

    def __init__(self, path: Path, problem: str, position: Position | None) -> None:
        where = f"{path}:{position.line}:{position.column}" if position else str(path)
        super().__init__(f"{where}: not valid YAML: {problem}")
        self.problem = problem
        self.position = position


def load_yaml(path: Path, loader: type[yaml.SafeLoader] = LOADER) -> Any:
    """Read ``path`` as one YAML document (anchors and aliases work, within the bounds);
    ``YamlSyntaxError`` naming the position and the fix otherwise, ``OSError`` if unreadable."""
    text = read_text(path)
    node = _compose(path, text, loader)
    if node is None:
        return None
    check_node(path, node)
    return _construct(path, node, loader)


def read_text(path: Path) -> str:
    """The file as UTF-8 text, bounded in size; ``YamlSyntaxError`` for bad bytes."""
    with open(path, "rb") as handle:
        raw = handle.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise YamlSyntaxError(
            path, f"the file is larger than {MAX_BYTES // (1024 * 1024)} MiB", None
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise YamlSyntaxError(
            path,
            f"byte 0x{raw[exc.start]:02x} is not UTF-8; save the file as UTF-8",
            Position(line, column),
        ) from None


def _compose(path: Path, text: str, loader: type[yaml.SafeLoader]) -> yaml.Node | None:
    parser: yaml.SafeLoader | None = None
    try:
        parser = loader(text)
        node: yaml.Node | None = parser.get_single_node()
        return node
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        position = Position(mark.line + 1, mark.column + 1) if mark else None
        raise YamlSyntaxError(path, str(exc.problem), position) from None
    except yaml.YAMLError as exc:  # e.g. a control character (ReaderError)
        raise YamlSyntaxError(path, _reader_problem(exc), _reader_position(text, exc)) from None
    except RecursionError:
        raise YamlSyntaxError(
            path, f"nested too deeply (more than {MAX_DEPTH} levels)", None
        ) from None
    finally:
        if parser is not None:
            parser.dispose()


def _reader_problem(exc: yaml.YAMLError) -> str:
    character = getattr(exc, "character", None)
    if isinstance(character, str):
        return f"the character {character!r} is not allowed in YAML; remove it"
    return str(exc).splitlines()[0]


def _reader_position(text: str, exc: yaml.YAMLError) -> Position | None:
    index = getattr(exc, "position", None)
    if not isinstance(index, int):
        return None
    line = text.count("\n", 0, index) + 1
    return Position(line, index - (text.rfind("\n", 0, index) + 1) + 1)


def check_node(path: Path, root: yaml.Node) -> None:
    """Reject duplicate keys, deep nesting and documents that expand past ``MAX_NODES``."""
    sizes: dict[int, int] = {}
    visiting: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in visiting:
            raise YamlSyntaxError(path, "an alias refers to its own anchor", _at(node))
        if depth > MAX_DEPTH:
            raise YamlSyntaxError(path, f"nested deeper than {MAX_DEPTH} levels", _at(node))
        visiting.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            _no_duplicate_keys(path, node)
            for k, v in node.value:
                total += size(k, depth + 1) + size(v, depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                total += size(item, depth + 1)
        visiting.discard(key)
        if total > MAX_NODES:
            raise YamlSyntaxError(
                path,
                f"the document expands to more than {MAX_NODES:,} values once its aliases are"
                " followed; use fewer aliases",
                _at(node),
            )
        sizes[key] = total
        return total

    size(root, 0)


def _no_duplicate_keys(path: Path, node: yaml.MappingNode) -> None:
    seen: set[str] = set()
    for key, _ in node.value:
        if isinstance(key, yaml.ScalarNode) and key.tag.endswith(":str"):
            if key.value in seen:
                raise YamlSyntaxError(
                    path, f"the key {key.value!r} appears twice in one mapping", _at(key)
                )
            seen.add(key.value)


def _at(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def _construct(path: Path, node: yaml.Node, loader: type[yaml.SafeLoader]) -> Any:
    builder = loader("")
    try:
        return builder.construct_document(node)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        bad = _first_bad_scalar(node, loader)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlSyntaxError(path, f"a value cannot be read: {problem}", bad) from None
    finally:
        builder.dispose()


def _first_bad_scalar(root: yaml.Node, loader: type[yaml.SafeLoader]) -> Position | None:
    """Where the construction failed: the first scalar that does not construct on its own."""
    stack = [root]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            probe = loader("")
            try:
                probe.construct_object(node)
            except (yaml.YAMLError, ValueError, TypeError, OverflowError):
                return _at(node)
            finally:
                probe.dispose()
        elif isinstance(node, yaml.MappingNode):
            stack.extend(v for pair in reversed(node.value) for v in reversed(pair))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
    return None


def compose_file(path: Path) -> yaml.Node | None:
    """The YAML node tree of ``path`` (with positions), or None if it cannot be read."""
    try:
        return _compose(path, read_text(path), LOADER)
    except (OSError, YamlSyntaxError):
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
