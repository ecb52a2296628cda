"""One Waypath run at a time per repository: an OS lock (`flock`) on `.git/waypath.lock`.

The kernel drops the lock when its holder ends, however it ends (SIGKILL included), so a
lock is never stale and nothing has to guess whether a pid is still alive. The file names
its holder (pid, start time) for the message the loser prints. Taking a lock this thread
already holds is a no-op, so the commands can hold it around planning and the library
functions they call can take it again.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

from engine.errors import GitError, RepoError
from engine.output.gitcli import Git

LOCK_NAME = "waypath.lock"

_held = threading.local()  # the lock paths this thread holds


def lock_file(root: Path) -> Path:
    """The repository's lock: in the git folder all worktrees share, or `.waypath.lock`
    at the root outside git. The journal (journal.py) lives beside it."""
    git = Git(root)
    if git.is_repo():
        return git.common_dir() / LOCK_NAME
    return root / f".{LOCK_NAME}"


def lock_folder(root: Path) -> Path:
    return lock_file(root).parent


def _held_paths() -> set[str]:
    paths: set[str] | None = getattr(_held, "paths", None)
    if paths is None:
        paths = set()
        _held.paths = paths
    return paths


@contextmanager
def repo_lock(path: Path) -> Iterator[bool]:
    """Hold the lock file `path`; yields True when taken now, False when already held here.

    GitError (exit 1) when another run holds it; RepoError when it cannot be opened.
    """
    held = _held_paths()
    key = str(path)
    if key in held:
        yield False
        return
    fd = _take(path)
    held.add(key)
    try:
        yield True
    finally:
        held.discard(key)
        with suppress(OSError):
            os.unlink(path)  # while still locked: a waiter then sees a new file and retries
        os.close(fd)


def _take(path: Path) -> int:
    for _attempt in range(10):
        fd = _open(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _owner(fd)
            os.close(fd)
            raise GitError(
                f"another waypath run holds {path} {owner}",
                hint="wait for it to finish, then run waypath again (nothing was changed)",
            ) from None
        if _same_file(fd, path):  # the run before us may have unlinked it meanwhile
            _write_owner(fd)
            return fd
        os.close(fd)
    raise GitError(f"could not take the lock {path}", hint="run waypath again")


def _open(path: Path) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except IsADirectoryError:
        raise RepoError(
            f"the lock path {path} is a folder",
            hint="remove that folder (Waypath keeps a small file there while it runs)",
        ) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise RepoError(
                f"the lock path {path} is a symlink", hint="remove the symlink, then retry"
            ) from None
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise RepoError(
                f"cannot create the lock {path}: no space left on the device",
                hint="free some disk space, then run waypath again (nothing was changed)",
            ) from None
        raise RepoError(
            f"cannot open the lock {path}: {exc.strerror or exc}",
            hint="check the permissions of that folder",
        ) from None


def _same_file(fd: int, path: Path) -> bool:
    try:
        now = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    mine = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino)


def _write_owner(fd: int) -> None:
    """Name the holder. Best effort: with a full disk the OS lock alone still excludes
    other runs, and the run may have to put back an interrupted apply (which needs no
    space), so a failed write must not stop it."""
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with suppress(OSError):
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}\nsince {since}\n".encode(), 0)


def _owner_fields(fd: int) -> dict[str, str]:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace")
    except OSError:
        text = ""
    return dict(line.split(" ", 1) for line in text.splitlines() if " " in line)


def _owner(fd: int) -> str:
    # The holder writes its name just after taking the lock: a run that arrives in between
    # reads an empty file. Wait a moment (at most half a second) for the name to appear.
    fields = _owner_fields(fd)
    for _ in range(20):
        if "pid" in fields and "since" in fields:
            break
        time.sleep(0.025)
        fields = _owner_fields(fd)
    since = fields.get("since", "an unknown time").strip()
    pid = fields.get("pid", "unknown").strip()
    return f"since {since} (pid {pid})"
