"""The ``state_dir`` step: a foreign cache replaces every file an adapter left, a removed
directory is gone, and an adapter that claims a cache but left nothing fails the case."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conformance.results import StepFailed
from conformance.state_dir_steps import FOREIGN_CACHE, TamperError, tamper


def test_foreign_overwrites_every_file_and_keeps_the_tree(tmp_path: Path) -> None:
    (tmp_path / "nested").mkdir()
    (tmp_path / "state.json").write_text('{"format": 1, "apis": ["10001"]}')
    (tmp_path / "nested" / "contracts.db").write_bytes(b"\x00binary")
    assert (
        tamper(tmp_path, "foreign")
        == f"{tmp_path.name}: 2 file(s) overwritten with a foreign cache"
    )
    for path in (tmp_path / "state.json", tmp_path / "nested" / "contracts.db"):
        assert path.read_bytes() == FOREIGN_CACHE
    assert isinstance(json.loads(FOREIGN_CACHE), dict)  # valid JSON, of another shape


def test_foreign_leaves_symlinked_files_alone(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("not the adapter's")
    state = tmp_path / "state"
    state.mkdir()
    (state / "cache.json").write_text("{}")
    (state / "link").symlink_to(outside)
    tamper(state, "foreign")
    assert outside.read_text() == "not the adapter's"


def test_foreign_fails_an_adapter_that_left_no_file(tmp_path: Path) -> None:
    with pytest.raises(StepFailed, match="left no file in its state directory"):
        tamper(tmp_path, "foreign")


def test_removed_deletes_the_directory(tmp_path: Path) -> None:
    state = tmp_path / "replica-0"
    (state / "sub").mkdir(parents=True)
    (state / "sub" / "x").write_text("1")
    assert tamper(state, "removed") == "replica-0: removed"
    assert not state.exists()
    assert tamper(state, "removed") == "replica-0: already absent"


def test_what_the_kit_cannot_change_is_a_tamper_error_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cache.json").write_text("{}")

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", "cache.json")

    monkeypatch.setattr(Path, "write_bytes", refuse)
    with pytest.raises(
        TamperError, match=r"cannot make the state directory foreign: .*cache\.json"
    ):
        tamper(tmp_path, "foreign")
    monkeypatch.setattr(shutil, "rmtree", refuse)
    with pytest.raises(TamperError, match="cannot make the state directory removed"):
        tamper(tmp_path, "removed")
    assert tmp_path.exists()  # the premise failed loudly, not silently
