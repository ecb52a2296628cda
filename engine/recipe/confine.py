"""Symlinks in a recipe library: followed only when they stay inside it.

The rule, as git sees a checkout: a symlink is a file whose content is a path. A library
(`--recipes DIR`) may hold symlinks that resolve to an existing path inside DIR (a template
shared by two components, say); a symlink that resolves outside DIR, to nothing, or into a
loop is refused, naming it, before anything is read through it. Recipe cases are stricter
(engine/authoring/casetest.py): `recipe test --update` writes and deletes below
`expected/`, so that folder holds no symlink at all, and `before/` is copied as a repo, so
its symlinks are relative and stay inside `before/`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from engine.errors import Location, Problem, RecipeError


class LibraryLinkError(RecipeError):
    """Symlinks of a library that lead out of it: nothing of the library was read."""


def link_target(path: Path) -> tuple[Path | None, str]:
    """Where the symlink `path` leads: (resolved path, "") or (None, why it leads nowhere)."""
    try:
        return path.resolve(strict=True), ""
    except RuntimeError:  # Python 3.11 reports a loop this way
        return None, "is a symlink loop"
    except OSError as exc:
        if exc.errno == 40:  # ELOOP (Python 3.13+)
            return None, "is a symlink loop"
        return None, f"is a symlink to {os.readlink(path)!r}, which does not exist"


def symlinks(root: Path, *, hidden: bool = True) -> list[Path]:
    """Every symlink below `root`, in order, never descending into one; `hidden=False`
    skips folders whose name starts with a dot (loading never reads them)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if hidden or not d.startswith("."))
        for name in sorted([*dirnames, *filenames]):
            path = Path(dirpath, name)
            if path.is_symlink():
                found.append(path)
    return found


def escapes(path: Path, inside: Path) -> str | None:
    """Why the symlink `path` may not be followed from a folder `inside`, or None."""
    target, why = link_target(path)
    if target is None:
        return why
    if not target.is_relative_to(inside.resolve()):
        return f"is a symlink to {target}, outside {inside}"
    return None


def check_library_links(
    dirs: Sequence[Path], component_dirs: Sequence[Path] = (), folders: Sequence[Path] = ()
) -> None:
    """Refuse libraries with a symlink that leaves them, before anything is read through it.

    Only what loading reads is walked: the first level of each library folder in `dirs`,
    its component `folders`, and each folder of `component_dirs` (given on its own) whole
    — `--recipes /` or a home folder costs a listing, not a walk of everything below."""
    problems = []
    for root in dirs:
        inside = [f for f in folders if f.parent == root]
        links = [e for e in sorted(root.iterdir()) if e.is_symlink() and e.name[:1] != "."]
        links += [link for f in inside for link in symlinks(f, hidden=False)]
        problems += _escaping(links, root)
    for folder in component_dirs:
        problems += _escaping(symlinks(folder, hidden=False), folder)
    if problems:
        raise LibraryLinkError(
            f"{len(problems)} symlink{'s' if len(problems) != 1 else ''} in the recipe "
            "library that Waypath will not follow",
            problems=problems,
            hint="replace each with the file it points to, or a symlink inside the library",
        )


def _escaping(links: Sequence[Path], root: Path) -> list[Problem]:
    hint = "Waypath follows a symlink in a recipe library only to a file or folder inside it"
    problems = []
    for path in links:
        why = escapes(path, root)
        if why is not None:
            problems.append(Problem(f"{why} ({hint})", Location(str(path))))
    return problems
