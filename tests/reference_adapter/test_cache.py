"""StateCache: atomic JSON file; unreadable or foreign files are ignored (never fail open)."""

from __future__ import annotations

from pathlib import Path

from reference_adapter.cache import CACHE_FILE, StateCache


def test_round_trip_and_atomic_replace(tmp_path: Path):
    cache = StateCache(tmp_path / "sub")
    assert cache.load() is None
    cache.save({"apis": ["1"], "policies": {}, "contracts": {}})
    cache.save({"apis": ["2"], "policies": {}, "contracts": {}})
    data = cache.load()
    assert data is not None and data["apis"] == ["2"] and data["format"] == 1
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == [CACHE_FILE]


def test_corrupt_or_foreign_cache_is_ignored(tmp_path: Path):
    cache = StateCache(tmp_path)
    cache.path.write_text("{not json")
    assert cache.load() is None
    cache.path.write_text('{"format": 99}')
    assert cache.load() is None
    cache.path.write_text("[1, 2]")
    assert cache.load() is None
