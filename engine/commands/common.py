"""What several commands share: loading recipes, opening the repo (with scan progress)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from engine.commands.progress import scan_progress
from engine.errors import RepoError, UsageError
from engine.recipe.loading import Library, load_library
from engine.repo.workspace import Workspace


def library(recipe_dirs: Sequence[Path]) -> Library:
    return load_library(list(recipe_dirs))


def repo_root(repo: Path) -> Path:
    """The repo folder given on the command line, resolved; RepoError if it is none."""
    if not repo.is_dir():
        raise RepoError(f"{repo} is not a folder", hint="give the path of a checked-out repo")
    from engine.output.gitcli import Git  # here: detect and plan need no more of it

    if Git(repo).is_bare():
        raise RepoError(
            f"{repo} is a bare git repository: it has no files to upgrade",
            hint="clone it (`git clone REPO work`) and run waypath in the clone",
        )
    return repo.resolve()


@contextmanager
def exclusive(root: Path) -> Iterator[None]:
    """The repository's lock around a whole run (planning included); what the recovery of
    an interrupted run did goes to stderr."""
    from engine.output.apply import exclusive as locked  # only commands that write

    notices: list[str] = []
    with locked(root, notices):
        for note in notices:
            print(f"note: {note}", file=sys.stderr)
        yield


def holding_lock(command: Callable[..., int]) -> Callable[..., int]:
    """`command` (which takes `repo=`) run whole under the repository's lock, planning
    included: a second run fails at once and changes nothing, and HEAD never moves under
    this one."""

    def run(*, repo: Path, **kwargs: Any) -> int:
        root = repo_root(repo)
        with exclusive(root):
            return command(repo=root, **kwargs)

    return run


def workspace(repo: Path) -> Workspace:
    return Workspace(repo_root(repo), progress=scan_progress())


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
