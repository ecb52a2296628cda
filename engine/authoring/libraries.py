"""Which recipe folders an authoring command works on.

A `--recipes DIR` that holds its own copy of every bundled component (a checkout of the
recipe library being edited, or a temp copy in a test) replaces the bundled library
instead of clashing with it ("component `linkerd` is already defined").
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from engine.recipe.loading import Library, bundled_recipes_dir, load_library


def _components(folder: Path) -> set[str]:
    if not folder.is_dir():
        return set()
    return {c.name for c in folder.iterdir() if (c / "component.yaml").is_file()}


def replaces_bundled(recipe_dirs: Sequence[Path]) -> bool:
    bundled = bundled_recipes_dir()
    if any(d.resolve() == bundled.resolve() for d in recipe_dirs):
        return True
    own = set().union(*(_components(d) for d in recipe_dirs)) if recipe_dirs else set()
    wanted = _components(bundled)
    return bool(wanted) and wanted <= own


def effective_dirs(recipe_dirs: Sequence[Path]) -> list[Path]:
    """Every library folder in use, bundled first unless replaced."""
    bundled = bundled_recipes_dir()
    extra = [d for d in recipe_dirs if d.resolve() != bundled.resolve()]
    if replaces_bundled(recipe_dirs) and len(extra) == len(recipe_dirs):
        return extra
    return [bundled, *extra]


def load(recipe_dirs: Sequence[Path]) -> Library:
    bundled = bundled_recipes_dir()
    extra = [d for d in recipe_dirs if d.resolve() != bundled.resolve()]
    include = not replaces_bundled(recipe_dirs) or len(extra) < len(recipe_dirs)
    return load_library(extra, include_bundled=include)
