"""The filesystem calls that apply makes, behind one seam so a test can make each fail."""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path


class Fs:
    """The filesystem calls `write_changes` makes. Tests subclass it to inject failures."""

    def mkdir(self, path: Path) -> None:
        os.mkdir(path)

    def rmdir(self, path: Path) -> None:
        os.rmdir(path)

    def write(self, path: Path, data: bytes, mode: int | None) -> None:
        """Create `path` (it must not exist), write `data`, set `mode`, fsync."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if mode is not None:
                os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)

    def replace(self, src: Path, dst: Path) -> None:
        os.replace(src, dst)

    def remove(self, path: Path) -> None:
        os.unlink(path)


DEFAULT_FS = Fs()


def sync_folders(folders: set[Path]) -> None:
    """Make renames durable (best effort: not every filesystem can fsync a folder)."""
    for folder in sorted(folders):
        with suppress(OSError):
            fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
