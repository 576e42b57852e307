"""The one YAML reader refuses hostile and broken files with a positioned message, the same
with libyaml and with the pure-Python loader: alias bombs, deep nesting, recursive aliases,
duplicate keys, bad bytes, control characters, bad explicit tags, oversized files."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from common.yaml_source import MAX_BYTES, YamlSyntaxError, load_yaml

LOADERS = [yaml.SafeLoader, *([yaml.CSafeLoader] if hasattr(yaml, "CSafeLoader") else [])]

LAUGHS = (
    "a: &a ["
    + ",".join(['"lol"'] * 9)
    + "]\n"
    + "".join(
        f"{n}: &{n} [" + ",".join([f"*{p}"] * 9) + "]\n"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
)

CASES: dict[str, tuple[str | bytes, str]] = {
    "billion-laughs": (LAUGHS, "expands to more than 1,000,000 values"),
    "deep-flow": ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nest"),
    "deep-mapping": ("a: " + "{x: " * 200 + "1" + "}" * 200 + "\n", "nest"),
    "recursive-alias": ("a: &x [*x]\n", "refers to its own anchor"),
    "duplicate-key": ("a: 1\nb: 2\na: 3\n", "the key 'a' appears twice"),
    "bad-utf8": (b"name: ok\nb: \xff\xfe\n", "byte 0xff is not UTF-8"),
    "control-character": ("a: 1\nb: \x01\n", "#x0001"),
    "bad-int-tag": ("a: 1\nb: !!int abc\n", "a value cannot be read"),
    "python-tag": ("a: !!python/object/apply:os.system [echo]\n", "a value cannot be read"),
    "syntax": ("a: [1, 2\n", "expected"),
}


@pytest.mark.parametrize("loader", LOADERS, ids=lambda loader: loader.__name__)
@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_files_get_a_positioned_error(
    tmp_path: Path, name: str, loader: type[yaml.SafeLoader]
) -> None:
    text, message = CASES[name]
    path = tmp_path / f"{name}.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(YamlSyntaxError) as info:
        load_yaml(path, loader)
    assert time.monotonic() - started < 10, "bounded: never a hang"
    assert message in str(info.value)
    assert str(info.value).startswith(str(path))


@pytest.mark.parametrize("loader", LOADERS, ids=lambda loader: loader.__name__)
def test_positions_name_line_and_column(tmp_path: Path, loader: type[yaml.SafeLoader]) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("a: 1\nnested:\n  x: 1\n  x: 2\n")
    with pytest.raises(YamlSyntaxError) as info:
        load_yaml(path, loader)
    assert info.value.position is not None
    assert (info.value.position.line, info.value.position.column) == (4, 3)


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"a: " + b"x" * (MAX_BYTES + 10) + b"\n")
    with pytest.raises(YamlSyntaxError, match="larger than"):
        load_yaml(path)


@pytest.mark.parametrize("loader", LOADERS, ids=lambda loader: loader.__name__)
def test_ordinary_aliases_still_work(tmp_path: Path, loader: type[yaml.SafeLoader]) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("a: &req {path: /x, n: 1}\nb: *req\nc: [*req, *req]\n")
    data = load_yaml(path, loader)
    assert data["b"] == data["a"] == {"path": "/x", "n": 1} and len(data["c"]) == 2
