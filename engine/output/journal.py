"""The journal of the write in flight, so that a run killed at any point (SIGKILL, power
loss, a full disk) is finished or undone by the next run, with no flag.

Before its first change a write records, next to the lock, every file it will touch: the
staged new content (`.NAME.waypath-PID.new`), where the original waits during the swap
(`.NAME.waypath-PID.old`), whether the file is new, the folders it will create and, for
a commit, the HEAD it starts from. The originals are kept until the write is done, so
putting them back is a rename: it needs no free space. When the write is done the
journal is renamed to `waypath-journal.done` (a rename, again no space) and the kept
originals are removed.

On the next start, under the lock:
- `waypath-journal.done`: the write was whole; remove what is left of its originals.
- `waypath-journal.json` of a commit whose HEAD moved: `git commit` did its work; the
  commit is whole, so the same clean-up.
- any other `waypath-journal.json`: put every file back (rename the original back,
  remove a new file and a staged one), remove the folders it made, and unstage its paths.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from engine.errors import GitError, RepoError
from engine.output.fsops import DEFAULT_FS, Fs, sync_folders
from engine.output.gitcli import Git

JOURNAL = "waypath-journal.json"
DONE = "waypath-journal.done"
_INDEX_LOCK_WAIT = 10.0  # seconds to let a git process of the killed run finish


@dataclass
class Entry:
    path: str  # repo-relative
    temp: str | None  # repo-relative staged new content (None: a deletion)
    backup: str | None  # repo-relative kept original (None: a new file)


@dataclass
class Journal:
    root: str
    kind: Literal["write", "commit"]
    head: str | None
    entries: list[Entry]
    folders: list[str] = field(default_factory=list)  # created, parents first
    pid: int = field(default_factory=os.getpid)

    def to_bytes(self) -> bytes:
        return (json.dumps(asdict(self), indent=1) + "\n").encode()


def begin(folder: Path, journal: Journal, fs: Fs = DEFAULT_FS) -> None:
    """Record `journal` durably before the first change (a rename: never half written)."""
    temp = folder / (JOURNAL + ".tmp")
    with suppress(FileNotFoundError):
        os.unlink(temp)
    try:
        fs.write(temp, journal.to_bytes(), 0o644)
        fs.replace(temp, folder / JOURNAL)
    except BaseException:
        with suppress(OSError):
            os.unlink(temp)
        raise
    sync_folders({folder})


def mark_done(folder: Path, fs: Fs = DEFAULT_FS) -> None:
    fs.replace(folder / JOURNAL, folder / DONE)


def close(folder: Path, name: str = DONE, fs: Fs = DEFAULT_FS) -> None:
    with suppress(FileNotFoundError):
        fs.remove(folder / name)


def recover(folder: Path) -> str | None:
    """Finish or undo the write an earlier run left in flight; what was done, or None."""
    with suppress(FileNotFoundError):
        os.unlink(folder / (JOURNAL + ".tmp"))  # killed before the journal existed
    for name in (DONE, JOURNAL):
        path = folder / name
        if not path.exists():
            continue
        journal = _read(path)
        root = Path(journal.root)
        if name == DONE:
            _clean_up(root, journal)
            os.unlink(path)
            return f"cleaned up after an interrupted waypath run ({len(journal.entries)} file(s))"
        git = Git(root)
        if journal.kind == "commit":
            _wait_for_index(root, git)
            if git.head() != journal.head:
                _clean_up(root, journal)
                os.unlink(path)
                return "an interrupted waypath run had made its commit: kept it"
        _put_back(root, journal)
        if journal.kind == "commit":
            git.restore_index([e.path for e in journal.entries])
        os.unlink(path)
        return (
            f"put back {len(journal.entries)} file(s) an interrupted waypath run "
            f"(pid {journal.pid}) was writing"
        )
    return None


def _read(path: Path) -> Journal:
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
        entries = [Entry(**e) for e in raw.pop("entries")]
        journal = Journal(entries=entries, **raw)
        for entry in journal.entries:
            for rel in (entry.path, entry.temp, entry.backup):
                if rel is not None:
                    _check(rel)
        for rel in journal.folders:
            _check(rel)
        return journal
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise RepoError(
            f"{path}: the journal of an interrupted waypath run cannot be read ({exc})",
            hint="check the working tree with `git status`, restore what is wrong, then "
            "delete that file",
        ) from None


def _check(rel: str) -> None:
    pure = PurePosixPath(rel)
    if not rel or pure.is_absolute() or ".." in pure.parts or ".git" in pure.parts:
        raise ValueError(f"{rel!r} is not a plain path inside the repository")


def _wait_for_index(root: Path, git: Git) -> None:
    """A `git commit` of the killed run may still be running (an orphan): let it end, so
    HEAD says whether the commit was made."""
    lock = Path(git.git_dir()) / "index.lock"
    deadline = time.monotonic() + _INDEX_LOCK_WAIT
    while lock.exists():
        if time.monotonic() > deadline:
            raise GitError(
                f"{lock} exists: a git process is running in {root}, or one was killed",
                hint=f"wait for it; if no git process is running, delete {lock} and run "
                "waypath again to finish the interrupted run",
            )
        time.sleep(0.05)


def _clean_up(root: Path, journal: Journal) -> None:
    for entry in journal.entries:
        for rel in (entry.temp, entry.backup):
            if rel is not None:
                with suppress(FileNotFoundError):
                    os.unlink(root / rel)
    sync_folders({(root / e.path).parent for e in journal.entries})


def _put_back(root: Path, journal: Journal) -> None:
    for entry in reversed(journal.entries):
        dest = root / entry.path
        temp = root / entry.temp if entry.temp is not None else None
        placed = temp is not None and not os.path.lexists(temp)
        if temp is not None and not placed:
            os.unlink(temp)  # staged, never placed
        if entry.backup is not None:
            backup = root / entry.backup
            if os.path.lexists(backup):
                os.replace(backup, dest)  # the original, back over whatever is there
        elif placed and os.path.lexists(dest):
            os.unlink(dest)  # a new file we had placed
    for rel in reversed(journal.folders):
        with suppress(OSError):
            os.rmdir(root / rel)
    sync_folders({(root / e.path).parent for e in journal.entries if (root / e.path).parent.is_dir()})
