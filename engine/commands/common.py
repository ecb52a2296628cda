"""What several commands share: loading recipes, opening the repo (with scan progress)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from engine.commands.progress import scan_progress
from engine.errors import RepoError, UsageError
from engine.recipe.loading import Library, load_library
from engine.repo.workspace import Workspace


def library(recipe_dirs: Sequence[Path]) -> Library:
    return load_library(list(recipe_dirs))


def workspace(repo: Path) -> Workspace:
    if not repo.is_dir():
        raise RepoError(f"{repo} is not a folder", hint="give the path of a checked-out repo")
    return Workspace(repo.resolve(), progress=scan_progress())


def parse_pairs(pairs: Sequence[str], option: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(
                f"{option} {pair!r} is not KEY=VALUE",
                hint=f"for example {option} "
                + ("linkerd=stable-2.11.5" if option == "--assume" else "chart_rename=in-place"),
            )
        result[key.strip()] = value.strip()
    return result
