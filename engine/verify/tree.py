"""A repo state as verify sees it: file paths and bytes, from a checkout or a checkout
plus the changes of some planned commits, without writing to the repo."""

from __future__ import annotations

import bisect
import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from engine.repo.workspace import Overlay, Workspace


class Tree:
    """Files by repo-relative POSIX path. `changes` (path -> bytes, or None for deleted)
    are layered over `base` (a checkout)."""

    def __init__(
        self, base: Workspace | None, changes: Mapping[str, bytes | None] | None = None
    ) -> None:
        self._base = base
        self._changes: dict[str, bytes | None] = dict(changes or {})
        base_files = set(base.all_files()) if base is not None else set()
        for path, content in self._changes.items():
            if content is None:
                base_files.discard(path)
            else:
                base_files.add(path)
        self._paths = sorted(base_files)
        self._digests: dict[str, str] = {}
        self._overlay: Overlay | None = None

    @classmethod
    def of_files(cls, files: Mapping[str, bytes]) -> Tree:
        """A tree with no checkout behind it (tests, fixtures held in memory)."""
        return cls(None, dict(files))

    def layered(self, changes: Mapping[str, bytes | None]) -> Tree:
        """This state with more changes on top (the next commit of a plan)."""
        merged = dict(self._changes)
        merged.update(changes)
        tree = Tree.__new__(Tree)
        tree._base = self._base
        tree._changes = merged
        paths = set(self._paths)
        for path, content in changes.items():
            if content is None:
                paths.discard(path)
            else:
                paths.add(path)
        tree._paths = sorted(paths)
        # Digests of files the new changes do not touch stay valid.
        tree._digests = {p: d for p, d in self._digests.items() if p not in changes}
        tree._overlay = None
        if self._overlay is not None:
            tree._overlay = self._overlay.copy()
            _apply(tree._overlay, changes)
        return tree

    def reader(self) -> Overlay:
        """The state through the read API the Flux model takes (engine/repo/flux)."""
        if self._overlay is None:
            if self._base is None:
                raise ValueError("a tree without a checkout behind it has no model reader")
            self._overlay = Overlay(self._base)
            _apply(self._overlay, self._changes)
        return self._overlay

    @property
    def paths(self) -> list[str]:
        return self._paths

    def exists(self, path: str) -> bool:
        index = bisect.bisect_left(self._paths, path)
        return index < len(self._paths) and self._paths[index] == path

    def is_dir(self, folder: str) -> bool:
        if folder in ("", "."):
            return True
        prefix = folder.rstrip("/") + "/"
        index = bisect.bisect_left(self._paths, prefix)
        return index < len(self._paths) and self._paths[index].startswith(prefix)

    def under(self, folder: str) -> list[str]:
        """Every file below `folder` (recursively), sorted."""
        if folder in ("", "."):
            return list(self._paths)
        prefix = folder.rstrip("/") + "/"
        start = bisect.bisect_left(self._paths, prefix)
        end = bisect.bisect_left(self._paths, prefix[:-1] + "0")  # "0" sorts right after "/"
        return self._paths[start:end]

    def read(self, path: str) -> bytes:
        if path in self._changes:
            content = self._changes[path]
            if content is None:
                raise FileNotFoundError(path)
            return content
        if self._base is None:
            raise FileNotFoundError(path)
        return self._base.read_bytes(path)

    def digest(self, path: str) -> str:
        if path not in self._digests:
            self._digests[path] = hashlib.sha256(self.read(path)).hexdigest()
        return self._digests[path]

    def materialize(self, files: Iterable[str], dest: Path) -> None:
        """Write `files` below `dest` (a temp dir), keeping their relative paths."""
        for path in files:
            target = dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self.read(path))


def _apply(overlay: Overlay, changes: Mapping[str, bytes | None]) -> None:
    for path, content in changes.items():
        if content is None:
            if overlay.exists(path):
                overlay.delete(path)
        else:
            overlay.write_text(path, content.decode("utf-8", "surrogateescape"))


def normalize(folder: str, ref: str) -> str | None:
    """`ref` relative to `folder`, as a repo-relative path; None if it leaves the repo."""
    joined = os.path.normpath(os.path.join(folder, ref)).replace(os.sep, "/")
    if joined == ".":
        return "."
    if joined.startswith("../") or joined == ".." or joined.startswith("/"):
        return None
    return joined


def spec_path(path: str) -> str:
    """A Flux `spec.path` (`./clusters/prod`, `clusters/prod/`, `./`) as a repo folder."""
    return normalize(".", path.strip() or ".") or "."
