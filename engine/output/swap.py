"""Write a set of file changes all or nothing, with the journal that survives a kill.

`swap_in` records the journal, stages every new file next to its destination, moves each
original aside and renames the new files in. Until `Swap.finish` the originals stay on
disk: `Swap.undo` (or the next run, from the journal) renames them back, which needs no
free space. Every filesystem call goes through `Fs`, so a test can make each one fail.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from engine.errors import PlanError, Problem, RepoError
from engine.output import journal
from engine.output.fsops import DEFAULT_FS, Fs, sync_folders
from engine.output.lock import lock_folder
from engine.planning.planmodel import FileChange


def safe_path(root: Path, path: str) -> Path:
    """The destination of repo-relative `path`; RepoError if it could leave `root`."""
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or ".." in pure.parts or pure.parts in ((), (".",)):
        raise RepoError(f"refusing to write {path!r}: not a plain path inside the repository")
    if ".git" in pure.parts:
        raise RepoError(f"refusing to write {path!r}: it is inside .git")
    dest = root.joinpath(*pure.parts)
    if not dest.resolve().is_relative_to(root.resolve()):
        raise RepoError(
            f"refusing to write {path}: it resolves outside the repository (through a symlink)"
        )
    if dest.is_symlink():
        raise RepoError(
            f"refusing to write {path}: it is a symlink",
            hint="waypath edits regular files only; change the file the link points to",
        )
    return dest


@dataclass
class _Item:
    change: FileChange
    dest: Path
    temp: Path | None  # the new content, staged (added and modified)
    backup: Path | None  # where the original waits until the write is done


def _prepare(root: Path, changes: Sequence[FileChange]) -> list[_Item]:
    items: list[_Item] = []
    seen: set[str] = set()
    for change in changes:
        if change.path in seen:
            raise PlanError(f"{change.path} is changed twice in one write")
        seen.add(change.path)
        dest = safe_path(root, change.path)
        if (change.content is None) != (change.status == "deleted"):
            raise PlanError(f"{change.path}: a {change.status} file without the right content")
        exists = os.path.lexists(dest)
        if change.status == "added" and exists:
            raise RepoError(f"cannot add {change.path}: it already exists")
        if change.status != "added" and not dest.is_file():
            raise RepoError(f"cannot change {change.path}: it is not a file in the repository")
        if change.status != "added" and _same_bytes(dest, change.content):
            continue  # never rewrite a file whose bytes do not change
        tag = f".{dest.name}.waypath-{os.getpid()}"
        items.append(
            _Item(
                change=change,
                dest=dest,
                temp=None if change.status == "deleted" else dest.with_name(f"{tag}.new"),
                backup=None if change.status == "added" else dest.with_name(f"{tag}.old"),
            )
        )
    return items


def _same_bytes(dest: Path, content: bytes | None) -> bool:
    if content is None or dest.stat().st_size != len(content):
        return False
    return dest.read_bytes() == content


def _missing_folders(root: Path, items: Sequence[_Item]) -> list[Path]:
    """Folders to create, parents first."""
    missing: list[Path] = []
    for item in items:
        if item.temp is None:
            continue
        chain: list[Path] = []
        folder = item.dest.parent
        while folder != root and not os.path.lexists(folder) and folder not in missing:
            chain.append(folder)
            folder = folder.parent
        missing.extend(reversed(chain))
    return missing


# One entry per step done; undone in reverse order:
#   mkdir(folder)   we created folder              -> rmdir it
#   temp(item)      we (started to) write item.temp -> remove it, unless placed
#   aside(item)     original moved to item.backup   -> move it back (over new content)
#   placed(item)    item.temp renamed to item.dest  -> remove dest if it was added
_Step = tuple[str, "_Item | Path"]


class Swap:
    """Changes swapped in, originals kept: `finish` drops them, `undo` puts them back."""

    def __init__(self, root: Path, items: list[_Item], fs: Fs, folder: Path) -> None:
        self.root = root
        self.items = items
        self.fs = fs
        self.folder = folder  # where the journal is
        self.steps: list[_Step] = []

    def mark_done(self) -> None:
        """The write is whole: from here on the next run keeps it (raises if not marked)."""
        if self.items:
            journal.mark_done(self.folder, self.fs)

    def finish(self) -> None:
        """Remove the kept originals. A failure here loses nothing (the next run removes
        what is left), so it is not raised; an interrupt is, once the clean-up is over."""
        if not self.items:
            return
        interrupted: BaseException | None = None
        failed = False
        for item in self.items:
            if item.backup is None:
                continue
            try:
                self.fs.remove(item.backup)
            except OSError:
                failed = True
            except BaseException as exc:  # Ctrl-C, SIGTERM: finish the clean-up first
                interrupted = interrupted or exc
                with suppress(OSError):
                    os.unlink(item.backup)
        if not failed:
            with suppress(OSError):
                journal.close(self.folder, journal.DONE, self.fs)
        sync_folders({item.dest.parent for item in self.items})
        if interrupted is not None:
            raise interrupted

    def undo(self, *, keep_journal: bool = False) -> list[Problem]:
        """Put everything back (renames and removals: no free space needed). The journal
        stays when something could not be undone, so the next run finishes the job."""
        problems = _rollback(self.fs, self.steps)
        if not problems and not keep_journal:
            self.forget()
        return problems

    def forget(self) -> None:
        with suppress(OSError):
            journal.close(self.folder, journal.JOURNAL, self.fs)


def swap_in(
    root: Path,
    changes: Sequence[FileChange],
    *,
    folder: Path,
    kind: Literal["write", "commit"] = "write",
    head: str | None = None,
    fs: Fs = DEFAULT_FS,
) -> Swap:
    """Swap `changes` in under `root`, journaled in `folder`; on any failure put back
    what was done and raise (RepoError naming the file; a KeyboardInterrupt as is)."""
    items = _prepare(root, changes)
    swap = Swap(root, items, fs, folder)
    if not items:
        return swap
    folders = _missing_folders(root, items)
    record = journal.Journal(
        root=str(root),
        kind=kind,
        head=head,
        entries=[
            journal.Entry(
                path=item.change.path,
                temp=_rel(root, item.temp),
                backup=_rel(root, item.backup),
            )
            for item in items
        ],
        folders=[_rel_folder(root, f) for f in folders],
    )
    current = "the journal"
    try:
        journal.begin(folder, record, fs)
        for path in folders:
            current = _rel_folder(root, path)
            fs.mkdir(path)
            swap.steps.append(("mkdir", path))
        for item in items:
            current = item.change.path
            if item.temp is not None:
                swap.steps.append(("temp", item))
                assert item.change.content is not None
                fs.write(item.temp, item.change.content, _mode(item.dest))
        for item in items:
            current = item.change.path
            if item.backup is not None:
                fs.replace(item.dest, item.backup)
                swap.steps.append(("aside", item))
        for item in items:
            current = item.change.path
            if item.temp is not None:
                fs.replace(item.temp, item.dest)
                swap.steps.append(("placed", item))
    except BaseException as exc:
        leftovers = swap.undo()
        if not isinstance(exc, Exception):
            raise
        raise write_error(current, exc, leftovers) from exc
    return swap


def write_error(current: str, exc: Exception, leftovers: list[Problem]) -> RepoError:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    hint = "nothing in the repository was changed"
    if isinstance(exc, OSError) and exc.errno in (28, 122):  # ENOSPC, EDQUOT
        hint = "free some disk space, then run waypath again; nothing in the repository was changed"
    if leftovers:
        hint = (
            "the put-back was incomplete (files listed above); run waypath again to finish it"
        )
    return RepoError(f"could not write {current}: {reason}", hint=hint, problems=leftovers)


def write_changes(
    root: Path,
    changes: Sequence[FileChange],
    *,
    folder: Path | None = None,
    fs: Fs = DEFAULT_FS,
) -> None:
    """Write `changes` under `root`: all of them, or (on any failure) none. The journal
    goes to `folder` (default: the repository's lock folder)."""
    folder = lock_folder(root) if folder is None else folder
    swap = swap_in(root, changes, folder=folder, fs=fs)
    try:
        swap.mark_done()
    except BaseException as exc:
        leftovers = swap.undo()
        if not isinstance(exc, Exception):
            raise
        raise write_error("the journal", exc, leftovers) from exc
    swap.finish()


def _mode(dest: Path) -> int | None:
    try:
        return stat.S_IMODE(dest.stat().st_mode)
    except FileNotFoundError:
        return None


def _rel(root: Path, path: Path | None) -> str | None:
    return None if path is None else path.relative_to(root).as_posix()


def _rel_folder(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _rollback(fs: Fs, steps: list[_Step]) -> list[Problem]:
    problems: list[Problem] = []
    for kind, target in reversed(steps):
        try:
            if isinstance(target, Path):  # mkdir
                fs.rmdir(target)
            elif kind == "temp":
                if target.temp is not None and os.path.lexists(target.temp):
                    fs.remove(target.temp)
            elif kind == "aside":
                assert target.backup is not None
                fs.replace(target.backup, target.dest)
            elif kind == "placed" and target.backup is None:
                fs.remove(target.dest)
        except Exception as exc:  # keep going: undo as much as we can, then say what is left
            where = target if isinstance(target, Path) else target.change.path
            problems.append(Problem(f"could not undo {kind} of {where}: {exc}"))
    return problems
