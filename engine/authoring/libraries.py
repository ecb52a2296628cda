"""Which recipe folders an authoring command works on.

A `--recipes DIR` that holds its own copy of every bundled component (a checkout of the
recipe library being edited, or a temp copy in a test) replaces the bundled library
instead of clashing with it ("component `linkerd` is already defined"). A DIR whose
component files are ComponentExtensions (new releases of a bundled component) adds to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from engine.errors import UsageError
from engine.recipe.loading import Library, bundled_recipes_dir, component_file_kind, load_library


def _components(folder: Path) -> set[str]:
    """Component folders that define a component (not those that only extend one)."""
    if not folder.is_dir():
        return set()
    return {
        c.name
        for c in folder.iterdir()
        if (c / "component.yaml").is_file()
        and component_file_kind(c / "component.yaml") == "Component"
    }


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


def installed_bundle() -> bool:
    """True when the bundled library is part of an installed package (not a source checkout)."""
    bundled = bundled_recipes_dir()
    return not (bundled.name == "recipes" and (bundled.parent / "pyproject.toml").is_file())


def check_writable(path: Path, what: str) -> None:
    """Refuse to write `path` inside an installed package's bundled library."""
    if installed_bundle() and path.resolve().is_relative_to(bundled_recipes_dir().resolve()):
        raise UsageError(
            f"{what} {path} belongs to the installed Waypath package, which authoring never edits",
            hint="work on your own library: give --recipes DIR (docs/authoring.md)",
        )
