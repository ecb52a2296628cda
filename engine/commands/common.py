"""What several commands share: loading recipes, opening the repo, progress on a terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from engine.errors import RepoError, UsageError
from engine.recipe.loading import Library, load_library
from engine.repo.workspace import Workspace


def library(recipe_dirs: Sequence[Path]) -> Library:
    return load_library(list(recipe_dirs))


def progress_printer() -> Callable[[int, int], None] | None:
    """A progress line on a terminal; nothing in pipes and CI logs."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        end = "\n" if done >= total else ""
        print(f"\rscanning {done}/{total} files", end=end, file=sys.stderr, flush=True)

    return show


def workspace(repo: Path) -> Workspace:
    if not repo.is_dir():
        raise RepoError(f"{repo} is not a folder", hint="give the path of a checked-out repo")
    return Workspace(repo.resolve(), progress=progress_printer())


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
