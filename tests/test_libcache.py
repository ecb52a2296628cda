from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.recipe import libcache, loading
from engine.recipe.libcache import cached


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("WAYPATH_CACHE_DIR", str(folder))
    return folder


def test_loads_once_then_reads_the_cache_until_a_source_changes(
    cache: Path, tmp_path: Path
) -> None:
    sources = tmp_path / "recipes"
    sources.mkdir()
    (sources / "a.yaml").write_text("one")
    calls: list[int] = []

    def load() -> dict[str, int]:
        calls.append(1)
        return {"loaded": len(calls)}

    assert cached("lib", sources, load) == {"loaded": 1}
    assert cached("lib", sources, load) == {"loaded": 1}
    assert len(calls) == 1
    (sources / "a.yaml").write_text("changed")  # other size and mtime: a new fingerprint
    assert cached("lib", sources, load) == {"loaded": 2}
    assert [p.name.split("-")[0] for p in cache.iterdir()] == ["lib"]  # the stale one is gone


def test_a_broken_cache_file_is_loaded_again_and_rewritten(cache: Path, tmp_path: Path) -> None:
    sources = tmp_path / "recipes"
    sources.mkdir()
    assert cached("lib", sources, lambda: [1, 2]) == [1, 2]
    (written,) = cache.iterdir()
    written.write_bytes(b"not a pickle")
    assert cached("lib", sources, lambda: [3]) == [3]
    assert cached("lib", sources, lambda: [4]) == [3]


def test_off_and_unwritable_folders_only_cost_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAYPATH_CACHE_DIR", "off")
    assert libcache.cache_dir() is None
    assert cached("lib", tmp_path, lambda: 1) == 1
    assert cached("lib", tmp_path, lambda: 2) == 2
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("WAYPATH_CACHE_DIR", str(blocker / "sub"))  # cannot be created
    assert cached("lib", tmp_path, lambda: 3) == 3
    assert not (blocker / "sub").exists()


def test_bundled_library_is_validated_once(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[object] = []
    original = loading._load_library

    def counting(*args: object, **kwargs: object) -> loading.Library:
        loads.append(args)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(loading, "_load_library", counting)
    first = loading.load_library()
    second = loading.load_library()
    assert len(loads) == 1
    assert sorted(second.recipes) == sorted(first.recipes) and second.recipes
    assert sorted(second.components) == sorted(first.components)
    path = next(iter(second.recipes.values())).path
    assert path == next(iter(first.recipes.values())).path and os.path.isfile(path)
    loading.load_library(include_bundled=False)  # not the bundled library: not cached
    assert len(loads) == 2
