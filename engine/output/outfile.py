"""Files the user asks for (`--describe`, `--out`): checked before any change, written
last and atomically, never over a file git tracks, never inside `.git`, and only into a
folder that exists."""

from __future__ import annotations

import os
import subprocess
from contextlib import suppress
from pathlib import Path

from engine.errors import RepoError, UsageError


def check_output(path: Path, option: str, repo: Path | None = None) -> Path:
    """`path` made absolute, or UsageError saying why it cannot be written."""
    target = Path(os.path.abspath(path))
    folder = target.parent
    if not folder.is_dir():
        raise UsageError(
            f"{option} {path}: the folder {folder} does not exist",
            hint="create the folder first, or write the file somewhere else",
        )
    if target.is_dir():
        raise UsageError(f"{option} {path} is a folder", hint="give a file name")
    if os.path.lexists(target) and not target.is_file():
        raise UsageError(f"{option} {path} is not a regular file", hint="give a file name")
    real = target.resolve()
    if ".git" in real.parts:
        raise UsageError(f"{option} {path} is inside a .git folder", hint="write it elsewhere")
    if _tracked(real):
        raise UsageError(
            f"{option} {path} is a file git tracks; writing it would change the repository",
            hint="write it outside the repository, or to an untracked file",
        )
    if repo is not None and real == repo.resolve():
        raise UsageError(f"{option} {path} is the repository", hint="give a file name")
    return target


def _tracked(path: Path) -> bool:
    """Whether `path` is in the index of the git checkout it lies in (if any)."""
    try:
        done = subprocess.run(
            ["git", "ls-files", "--error-unmatch", "--", path.name],
            cwd=path.parent,
            capture_output=True,
            check=False,
        )
    except OSError:
        return False
    return done.returncode == 0


def write_output(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file beside it and a rename: a reader
    never sees half a file, and a failure leaves the old file as it was."""
    temp = path.with_name(f".{path.name}.waypath-{os.getpid()}.tmp")
    try:
        # surrogateescape: a file name that is not UTF-8 is written as its own bytes
        with open(temp, "x", encoding="utf-8", errors="surrogateescape") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException as exc:
        with suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            raise RepoError(
                f"cannot write {path}: {exc.strerror or exc}",
                hint="free some disk space or fix the permissions, then run waypath again",
            ) from None
        raise
