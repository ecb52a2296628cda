"""The bundled library, validated once and kept: start-up without re-reading its recipes.

Loading the bundled components and recipes (parse every file, validate it with pydantic,
add the generated patch recipes) was a fifth of `waypath detect` on a small repo. The
result depends only on the bundled files and on the engine's code that reads them, so it is
kept in the user's cache folder under a fingerprint of both (path, size and mtime of every
file) and read back with pickle on the next run. Any problem with the cache (missing,
stale, unreadable, unwritable) falls back to loading the files: the cache never changes an
answer, only how fast it comes.

Where: `$WAYPATH_CACHE_DIR`, else `$XDG_CACHE_HOME/waypath`, else `~/.cache/waypath`;
`WAYPATH_CACHE_DIR=off` turns it off. The folder is the user's own: a pickle there is as
trusted as the user's other files.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_CODE = Path(__file__).resolve().parent  # engine/recipe: the code that builds a Library


def cache_dir() -> Path | None:
    configured = os.environ.get("WAYPATH_CACHE_DIR")
    if configured == "off":
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "waypath"


def fingerprint(*folders: Path) -> str:
    """A digest of every file under `folders` (path, size, mtime) and of the interpreter."""
    digest = hashlib.sha256(sys.version.encode())
    for folder in folders:
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith((".pyc", ".pyo")):
                    continue
                path = os.path.join(dirpath, name)
                info = os.stat(path)
                digest.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:32]


def cached(name: str, sources: Path, load: Callable[[], T]) -> T:
    """`load()`, or what it returned before for the same `sources` and engine code."""
    folder = cache_dir()
    if folder is None:
        return load()
    try:
        path = folder / f"{name}-{fingerprint(sources, _CODE)}.pickle"
    except OSError:
        return load()
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle)  # type: ignore[no-any-return]
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError):
        pass  # not there yet, or written by other code: load and write it again
    value = load()
    _write(folder, path, value)
    return value


def _write(folder: Path, path: Path, value: object) -> None:
    temporary: str | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, delete=False, suffix=".tmp") as handle:
            temporary = handle.name
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, path)  # atomic: a parallel run reads all of it or nothing
        temporary = None
        prefix = path.name.rsplit("-", 1)[0] + "-"
        for old in folder.glob(prefix + "*.pickle"):  # earlier engine or library versions
            if old != path:
                old.unlink(missing_ok=True)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass  # a read-only home, or a value pickle cannot keep: no cache, same answer
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
