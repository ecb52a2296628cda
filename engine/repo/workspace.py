"""The repository as the planner sees it: files, a text prefilter, parsed documents.

`Workspace` reads a checkout (each file's bytes once, parsing only files the prefilter
lets through); `Overlay` holds the edits of a plan in memory on top of it, so planning
never writes to the repo.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import posixpath
import re
import stat
import subprocess
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from engine.errors import Location, RepoError
from engine.repo import plainyaml
from engine.repo.headers import Header, scan
from engine.yamltext.patching import same
from engine.yamltext.yamldoc import YamlDocument, decode, drop_composed, parse_file

Change = Literal["added", "modified", "deleted"]
YAML_SUFFIXES = (".yaml", ".yml")


class RealPaths:
    """`os.path.realpath` with every answer kept, a path's built on its folder's: a new
    path costs one `lstat` of its last part instead of one per part (the Flux model asks
    about thousands of paths that do not exist, such as `<folder>/Kustomization`). One per
    Workspace: a folder turned into a symlink later is seen by the next run."""

    def __init__(self) -> None:
        self._folders: dict[str, str] = {}
        # safe_relpath asks for the root first, then with every path: kept apart
        self._root: tuple[str, str] | None = None

    def __call__(self, path: str) -> str:
        if self._root is not None and self._root[0] == path:
            return self._root[1]
        real = self._real(path)
        if self._root is None:
            self._root = (path, real)
        return real

    def _real(self, path: str) -> str:
        known = self._folders.get(path)
        if known is not None:
            return known
        folder, name = os.path.split(path)
        if not name or name in (".", "..") or folder == path:
            real = os.path.realpath(path)
        else:  # the folder's answer (kept), then one lstat of the last part
            full = os.path.join(self._real(folder), name)
            real = os.path.realpath(full) if os.path.islink(full) else full
        self._folders[path] = real
        return real


def safe_relpath(
    root: Path, rel: str, *, realpath: Callable[[str], str] = os.path.realpath
) -> str:
    """Normalise a repo-relative path; refuse one that leaves the repo.

    Refused: absolute paths, `..` above the root, and paths that resolve (through a
    symlinked file or folder) to a place outside the root.
    """
    posix = rel.replace("\\", "/")
    if posix.startswith("/") or re.match(r"^[A-Za-z]:/", posix):
        raise RepoError(
            f"path {rel!r} is absolute",
            location=Location(rel),
            hint="give paths relative to the repository root",
        )
    norm = posixpath.normpath(posix) if posix else "."
    if norm == "." or norm == ".." or norm.startswith("../"):
        raise RepoError(
            f"path {rel!r} is outside the repository" if norm != "." else "empty path",
            location=Location(rel),
            hint="give a path inside the repository, without `..` above its root",
        )
    real_root = realpath(str(root))
    real = realpath(os.path.join(real_root, norm))
    if real != real_root and not real.startswith(real_root.rstrip(os.sep) + os.sep):
        raise RepoError(
            f"path {norm!r} goes through a symlink to {real}, outside the repository",
            location=Location(norm),
            hint="Waypath does not edit files outside the repository; replace the symlink "
            "with the file, or change that file by hand",
        )
    return norm


def scope_range(paths: Sequence[str], scope: str) -> tuple[int, int]:
    """Where the paths under folder `scope` sit in a sorted list: two bisects, nothing
    scanned or copied (a slice from the first one to the end, per instance or per folder,
    was quadratic in a fleet repo)."""
    if scope == ".":
        return 0, len(paths)
    # Paths under `scope/` sort together, before any `scope0...` (`0` follows `/`).
    return bisect.bisect_left(paths, scope + "/"), bisect.bisect_left(paths, scope + "0")


@lru_cache(maxsize=64)
def _kind_line(kinds: tuple[str, ...]) -> tuple[re.Pattern[bytes], re.Pattern[str]]:
    """The rest of a `kind: K` line, matched where a line starts with `kind:`."""
    alternatives = "|".join(re.escape(kind) for kind in kinds)
    line = rf"kind:[ \t]*['\"]?(?:{alternatives})['\"]?[ \t]*(?:#[^\n]*)?\r?$"
    return re.compile(line.encode("utf-8"), re.MULTILINE), re.compile(line, re.MULTILINE)


def _has_kind(data: Any, pattern: Any, newline_kind: Any, bom: Any) -> bool:
    # Only a `kind:` at the start of a line counts: an indented one (a CRD's schema
    # mentions `kind: HelmRelease`) is no match. str/bytes.find is far faster than a
    # multiline regex search over the big CRD files that fill a fleet repo.
    start = len(bom) if data.startswith(bom) else 0
    if pattern.match(data, start):
        return True
    found = data.find(newline_kind)
    while found >= 0:
        if pattern.match(data, found + 1):
            return True
        found = data.find(newline_kind, found + 1)
    return False


def _matches_text(text: str, kinds: Sequence[str], contains: Sequence[str]) -> bool:
    if any(needle not in text for needle in contains):
        return False
    return not kinds or _has_kind(text, _kind_line(tuple(kinds))[1], "\nkind:", "\ufeff")


_KIND_VALUE = re.compile(rb"kind:[ \t]*['\"]?([^'\"\s#]+)['\"]?[ \t]*(?:#[^\n]*)?\r?$", re.M)
_BOM_BYTES = b"\xef\xbb\xbf"


def line_kinds(data: bytes) -> frozenset[str]:
    """The kinds named on lines that start with `kind:` — the same test as `_has_kind`,
    done once per file so that no file's bytes need to stay in memory for later asks."""
    start = len(_BOM_BYTES) if data.startswith(_BOM_BYTES) else 0
    positions = [start] if data.startswith(b"kind:", start) else []
    found = data.find(b"\nkind:")
    while found >= 0:
        positions.append(found + 1)
        found = data.find(b"\nkind:", found + 1)
    kinds = set()
    for position in positions:
        match = _KIND_VALUE.match(data, position)
        if match:
            kinds.add(match.group(1).decode("utf-8", "replace"))
    return frozenset(kinds)


_NONE: frozenset[str] = frozenset()
# What a CRD bundle (gotk-components.yaml: the CRDs and the flux-system Namespace) holds.
_BUNDLE = frozenset({"CustomResourceDefinition", "Namespace"})
_KEEP_BYTES = 64 * 1024  # files up to this size stay in memory once read
_SHARED_TEXT = 4096  # plain parses of texts up to this size are shared by equal files


def _plain(path: str, doc: YamlDocument) -> YamlDocument:
    return YamlDocument(path, doc.index, doc.start, doc.end, doc.data, None, doc.line, doc.head)


class Workspace:
    """A read-only view of a repository checkout, with caches.

    `progress(done, total)` is called while `candidates` scans the files.
    """

    def __init__(self, root: Path, *, progress: Callable[[int, int], None] | None = None) -> None:
        self.root = Path(root)
        self.progress = progress
        self.skipped: list[tuple[str, str]] = []
        self._files: list[str] | None = None
        self._known: set[str] = set()
        self._bytes: dict[str, bytes] = {}
        self._text: dict[str, str] = {}
        self._docs: dict[str, list[YamlDocument]] = {}
        # Read for the Flux model: documents without node trees, identities of documents
        # (headers.py), and plain parses shared by files of the same text.
        self._plain: dict[str, list[YamlDocument]] = {}
        self._headers: dict[str, list[Header] | None] = {}
        self._by_text: dict[str, list[YamlDocument]] = {}
        self._bare_kustomizations: set[str] = set()  # listed files named `Kustomization`
        # The checkout does not change while we plan: a prefilter's answer is cached.
        self._candidates: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = {}
        self._safe: dict[str, str] = {}
        self._kinds: dict[str, frozenset[str]] | None = None
        self.realpath = RealPaths()

    # -- listing -------------------------------------------------------------------

    def yaml_files(self) -> list[str]:
        """Sorted repo-relative paths of the YAML files (git-ignored files left out)."""
        if self._files is None:
            listed = self._git_files()
            regular: set[str] = set()  # known regular files: no lstat needed
            if listed is None:
                walked = self._walk_files()
                listed = [rel for rel, _ in walked]
                regular = {rel for rel, link in walked if not link}
            files = []
            base = str(self.root) + os.sep
            for rel in listed:
                if not rel.endswith(YAML_SUFFIXES):
                    if rel == "Kustomization" or rel.endswith("/Kustomization"):
                        self._bare_kustomizations.add(rel)
                    continue
                if rel in regular:
                    files.append(rel)
                    continue
                try:
                    mode = os.lstat(base + rel).st_mode  # one syscall per file: fleets are big
                except OSError:
                    continue  # listed by git but gone from the working tree
                if stat.S_ISLNK(mode):
                    reason = self._link_problem(rel)
                    if reason:
                        self.skipped.append((rel, reason))
                        continue
                    if os.path.isfile(base + rel):
                        files.append(rel)
                elif stat.S_ISREG(mode):
                    files.append(rel)
            self._files = sorted(files)
            self._known = set(self._files)
        return list(self._files)

    def yaml_files_view(self) -> list[str]:
        """The sorted list `yaml_files` copies; callers must not change it."""
        if self._files is None:
            self.yaml_files()
        assert self._files is not None
        return self._files

    def all_files(self) -> list[str]:
        """Sorted repo-relative paths of every regular file (git-ignored files and symlinks
        escaping the repo left out): what a kustomize build of the checkout may read."""
        listed = self._git_files()
        if listed is None:
            listed = [rel for rel, _ in self._walk_files()]
        base = str(self.root) + os.sep
        files = []
        for rel in listed:
            if os.path.islink(base + rel) and self._link_problem(rel):
                continue
            if os.path.isfile(base + rel):
                files.append(rel)
        return sorted(files)

    def _git_files(self) -> list[str] | None:
        try:
            result = subprocess.run(
                ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                cwd=self.root,
                capture_output=True,
                check=False,
            )
        except OSError:
            return None
        if result.returncode != 0:
            return None  # not a git work tree
        names = result.stdout.decode("utf-8", errors="surrogateescape").split("\0")
        return sorted({name for name in names if name})

    def _walk_files(self) -> list[tuple[str, bool]]:
        """(path, is a symlink) of every regular file and file symlink, as os.walk visits
        them (top-down, sorted folders, `.git` left out), from the folder listings alone:
        no `lstat` per file (the entries' types come with the listing)."""
        files: list[tuple[str, bool]] = []
        pending = [("", str(self.root))]
        while pending:
            prefix, folder = pending.pop()
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError:
                continue
            folders = []
            for entry in entries:
                rel = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != ".git":
                        folders.append((rel + "/", entry.path))
                elif entry.is_symlink():
                    if os.path.isdir(entry.path):  # a linked folder is not walked into
                        reason = self._link_problem(rel)
                        if reason:
                            self.skipped.append((rel, reason))
                    else:
                        files.append((rel, True))
                elif entry.is_file(follow_symlinks=False):
                    files.append((rel, False))
            pending.extend(reversed(folders))
        return files

    def _link_problem(self, rel: str) -> str | None:
        try:
            safe_relpath(self.root, rel, realpath=self.realpath)
        except RepoError:
            return f"symlink to {os.path.realpath(self.root / rel)}, outside the repository"
        return None

    # -- reading -------------------------------------------------------------------

    def _check(self, path: str) -> str:
        if path in self._known:
            return path
        safe = self._safe.get(path)
        if safe is None:
            safe = self._safe[path] = safe_relpath(self.root, path, realpath=self.realpath)
        return safe

    def exists(self, path: str) -> bool:
        if path in self._known:
            return True
        try:
            return os.path.isfile(os.path.join(self.root, self._check(path)))
        except RepoError:
            return False

    def listed(self, path: str) -> bool:
        """Whether the file listing (git's, or the walk's) holds `path`: no system call.
        Git-ignored files are not listed, as they are not in what Flux checks out."""
        if self._files is None:
            self.yaml_files()
        return path in self._known or path in self._bare_kustomizations

    def read_bytes(self, path: str) -> bytes:
        path = self._check(path)
        if path not in self._bytes:
            self._bytes[path] = self._read_uncached(path)
        return self._bytes[path]

    def read_text(self, path: str) -> str:
        path = self._check(path)
        if path not in self._text:
            self._text[path] = decode(path, self.read_bytes(path))
        return self._text[path]

    def documents(self, path: str) -> list[YamlDocument]:
        """The parsed documents of a file (cached); its bytes join `input_hashes`."""
        path = self._check(path)
        if path not in self._docs:
            docs = parse_file(path, self.read_text(path))
            for doc in docs:  # kept for reading: the node tree comes back if a step edits
                doc.drop_node()
            self._docs[path] = docs
        return self._docs[path]

    def parsed(self, path: str) -> list[YamlDocument] | None:
        """A file's documents if they are parsed already (never parses)."""
        return self._docs.get(path)

    def plain_documents(self, path: str) -> list[YamlDocument]:
        """The documents of a file for reading only, without node trees (`node` is None):
        the Flux model reads every kustomization file and Flux object of a repo and edits
        none, and node trees cost ~40 bytes per byte of YAML. The documents `documents`
        parsed are given when there are; files of the same text share one parse."""
        found = self._docs.get(path) or self._plain.get(path)
        if found is not None:
            return found
        path = self._check(path)
        text = self._text_once(path)
        same_text = self._by_text.get(text)
        if same_text is not None:
            found = [_plain(path, d) for d in same_text]
        else:
            found = plainyaml.documents(path, text) or [
                _plain(path, d) for d in parse_file(path, text)
            ]
            if len(text) <= _SHARED_TEXT:
                self._by_text[text] = found
        self._plain[path] = found
        return found

    def headers(self, path: str) -> list[Header] | None:
        """Each document's apiVersion, kind, name and namespace read from the file's lines,
        or None when only parsing can tell (engine/repo/headers.py)."""
        path = self._check(path)
        if path not in self._headers:
            self._headers[path] = scan(self._text_once(path))
        return self._headers[path]

    def _text_once(self, path: str) -> str:
        """A file's text for a reader that needs it once: not kept (the bytes are, for
        `input_hashes`); the model reads most files of a fleet this way."""
        text = self._text.get(path)
        return text if text is not None else decode(path, self.read_bytes(path))

    def candidates(
        self, *, kinds: Sequence[str] = (), contains: Sequence[str] = ()
    ) -> Sequence[str]:
        """YAML files that may hold a document of one of `kinds` and contain every string
        of `contains` — a text test, no parsing. Sorted; the cached answer itself, not a
        copy (callers ask once per instance: a copy each time was quadratic)."""
        key = (tuple(kinds), tuple(contains))
        if key not in self._candidates:
            if contains:
                # Narrow the (cached) answer for `kinds` alone: selectors ask with many
                # different names, and a full scan each time would read every file again.
                narrowed = self.candidates(kinds=kinds)
                needles = [c.encode("utf-8") for c in contains]
                self._candidates[key] = [
                    p for p in narrowed if all(n in self._peek(p) for n in needles)
                ]
            elif kinds:
                wanted = set(kinds)
                index = self._kind_index()
                self._candidates[key] = [p for p in self.yaml_files() if index.get(p, _NONE) & wanted]
            else:
                self._candidates[key] = self.yaml_files()
        return self._candidates[key]

    def _kind_index(self) -> dict[str, frozenset[str]]:
        """Path -> kinds its lines start with, from one pass over every file. The bytes are
        not kept: in a fleet repo most of them are CRD bundles no recipe ever reads."""
        if self._kinds is None:
            files = self.yaml_files()
            index: dict[str, frozenset[str]] = {}
            shared: dict[frozenset[str], frozenset[str]] = {}  # most files repeat a few sets
            for done, path in enumerate(files, 1):
                known = path in self._bytes
                kinds = line_kinds(self._peek(path))
                if kinds:
                    index[path] = shared.setdefault(kinds, kinds)
                if not known and not kinds - _BUNDLE:
                    # Only a bundle's kinds: its bytes are not kept (a fleet's CRD bundles
                    # can be small enough, and are most of its bytes); a prefilter that
                    # lists it reads it again.
                    self._bytes.pop(path, None)
                if self.progress is not None:
                    self.progress(done, len(files))
            self._kinds = index
        return self._kinds

    def _peek(self, path: str) -> bytes:
        """A file's bytes. Small files join the cache (prefilters ask about them again);
        big ones (a fleet's CRD bundles, most of its bytes) are read and let go."""
        data = self._bytes.get(path)
        if data is None:
            data = self._read_uncached(path)
            if len(data) <= _KEEP_BYTES:
                self._bytes[path] = data
        return data

    def _read_uncached(self, path: str) -> bytes:
        try:
            with open(os.path.join(self.root, path), "rb") as handle:
                return handle.read()
        except OSError as exc:
            raise RepoError(
                f"cannot read {path}: {exc.strerror or exc}",
                location=Location(path),
                hint="check that the file exists and is readable",
            ) from None

    def input_hashes(self) -> dict[str, str]:
        """sha256 of every file that was parsed (or whose documents' identities were read):
        what a plan depends on."""
        read = {*self._docs, *self._plain, *self._headers}
        return {path: hashlib.sha256(self._bytes[path]).hexdigest() for path in sorted(read)}


class Overlay:
    """Edits held in memory on top of a Workspace, seen through the same read API."""

    def __init__(self, base: Workspace) -> None:
        self.base = base
        self.root = base.root
        self._written: dict[str, str] = {}
        self._deleted: set[str] = set()
        # Every path written or deleted, in order: indexes over the files (selectors'
        # `_Deployers`) catch up from where they were instead of reading everything again.
        self.writes: list[str] = []
        self._docs: dict[str, list[YamlDocument]] = {}
        # Prefilter answers, valid until the next write, delete or move.
        self._candidates: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = {}
        self._safe: dict[str, str] = {}

    def copy(self) -> Overlay:
        """A snapshot: later edits to either overlay do not show in the other."""
        other = Overlay(self.base)
        other._written = dict(self._written)
        other._deleted = set(self._deleted)
        other._docs = dict(self._docs)
        other._safe = self._safe
        other._candidates = {key: list(found) for key, found in self._candidates.items()}
        return other

    def _path(self, path: str) -> str:
        # Resolving symlinks costs a syscall per path component: once per path is enough.
        safe = self._safe.get(path)
        if safe is None:
            safe = self._safe[path] = safe_relpath(self.root, path, realpath=self.base.realpath)
        return safe

    # -- reading -------------------------------------------------------------------

    def exists(self, path: str) -> bool:
        if path in self._written:
            return True
        if path in self._deleted:
            return False
        return self.base.exists(path)

    def listed(self, path: str) -> bool:
        if path in self._written:
            return True
        return path not in self._deleted and self.base.listed(path)

    def plain_documents(self, path: str) -> list[YamlDocument]:
        if path in self._written or path in self._deleted:
            return self.documents(path)
        return self.base.plain_documents(path)

    def headers(self, path: str) -> list[Header] | None:
        if path in self._written:
            return scan(self._written[path])
        if path in self._deleted:
            raise self._missing(path)
        return self.base.headers(path)

    def has_yaml_under(self, folder: str) -> bool:
        """True when a YAML file below `folder` is left in this view (bisect, no copy)."""
        prefix = folder.rstrip("/") + "/" if folder not in ("", ".") else ""
        listed = self.base.yaml_files_view()
        at = bisect.bisect_left(listed, prefix)
        while at < len(listed) and listed[at].startswith(prefix):
            if listed[at] not in self._deleted:
                return True
            at += 1
        return any(p.startswith(prefix) and p.endswith(YAML_SUFFIXES) for p in self._written)

    def yaml_files(self) -> list[str]:
        files = {p for p in self.base.yaml_files() if p not in self._deleted}
        files.update(p for p in self._written if p.endswith(YAML_SUFFIXES))
        return sorted(files)

    def _missing(self, path: str) -> RepoError:
        return RepoError(
            f"{path} does not exist (deleted by an earlier step)",
            location=Location(path),
            hint="check the order of the recipe's steps",
        )

    def read_text(self, path: str) -> str:
        if path in self._written:
            return self._written[path]
        if path in self._deleted:
            raise self._missing(path)
        return self.base.read_text(path)

    def read_bytes(self, path: str) -> bytes:
        if path in self._written:
            return self._written[path].encode("utf-8")
        if path in self._deleted:
            raise self._missing(path)
        return self.base.read_bytes(path)

    def documents(self, path: str) -> list[YamlDocument]:
        if path in self._written:
            if path not in self._docs:
                self._docs[path] = parse_file(path, self._written[path])
            return self._docs[path]
        if path in self._deleted:
            raise self._missing(path)
        return self.base.documents(path)

    def parsed(self, path: str) -> list[YamlDocument] | None:
        """A file's documents if they are parsed already (never parses)."""
        if path in self._written:
            return self._docs.get(path)
        if path in self._deleted:
            return None
        return self.base.parsed(path)

    def candidates(
        self, *, kinds: Sequence[str] = (), contains: Sequence[str] = ()
    ) -> Sequence[str]:
        """As `Workspace.candidates`; the answer is kept up to date in place by each write,
        so a caller reads it before writing, not across writes."""
        key = (tuple(kinds), tuple(contains))
        if key not in self._candidates:
            self._candidates[key] = self._scan(kinds, contains)
        return self._candidates[key]

    def _scan(self, kinds: Sequence[str], contains: Sequence[str]) -> list[str]:
        found = [
            path
            for path in self.base.candidates(kinds=kinds, contains=contains)
            if path not in self._written and path not in self._deleted
        ]
        found.extend(
            path
            for path, text in self._written.items()
            if path.endswith(YAML_SUFFIXES) and _matches_text(text, kinds, contains)
        )
        return sorted(found)

    def _refile(self, path: str, text: str | None) -> None:
        """Update the cached prefilter answers for one changed (or deleted) file, instead
        of dropping them: a plan writes hundreds of files and asks after each."""
        self.writes.append(path)
        for (kinds, contains), found in self._candidates.items():
            index = bisect.bisect_left(found, path)
            present = index < len(found) and found[index] == path
            matches = (
                text is not None
                and path.endswith(YAML_SUFFIXES)
                and _matches_text(text, kinds, contains)
            )
            if present and not matches:
                del found[index]
            elif matches and not present:
                found.insert(index, path)

    # -- writing -------------------------------------------------------------------

    def write_text(
        self, path: str, text: str, *, documents: list[YamlDocument] | None = None
    ) -> None:
        """Write a file; `documents` are its parsed documents when the caller has them."""
        path = self._path(path)
        self._written[path] = text
        self._deleted.discard(path)
        if documents is None:
            self._docs.pop(path, None)
        else:
            self._docs[path] = documents
        self._refile(path, text)

    def delete(self, path: str) -> None:
        path = self._path(path)
        if not self.exists(path):
            raise RepoError(
                f"cannot delete {path}: no such file",
                location=Location(path),
                hint="check the path; it may have been moved or deleted by an earlier step",
            )
        self._written.pop(path, None)
        self._docs.pop(path, None)
        self._refile(path, None)
        if self.base.exists(path):
            self._deleted.add(path)

    def move(self, src: str, dst: str) -> None:
        src, dst = self._path(src), self._path(dst)
        if not self.exists(src):
            raise RepoError(
                f"cannot move {src}: no such file",
                location=Location(src),
                hint="check the path; it may have been moved or deleted by an earlier step",
            )
        if self.exists(dst):
            raise RepoError(
                f"cannot move {src} to {dst}: {dst} already exists",
                location=Location(dst),
                hint="delete the target first, or move to another path",
            )
        text = self.read_text(src)
        self.delete(src)
        self.write_text(dst, text)

    def settle(self, since: Overlay) -> list[str]:
        """Give back the repo's own bytes for every file written since `since` (an earlier
        copy) whose documents now read exactly as the repo's do: a phase that removes a
        list entry and a later one that puts it back leave the file byte-identical, not
        re-indented. Returns the paths restored."""
        restored = []
        for path, text in list(self._written.items()):
            if since._written.get(path) is text or not self.base.exists(path):
                continue
            if not path.endswith(YAML_SUFFIXES) or text == self.base.read_text(path):
                continue
            try:
                mine, theirs = self.documents(path), self.base.documents(path)
            except RepoError:
                continue
            if len(mine) == len(theirs) and all(
                same(a.data, b.data) for a, b in zip(mine, theirs, strict=True)
            ):
                del self._written[path]
                self._docs.pop(path, None)
                self._refile(path, self.base.read_text(path))
                restored.append(path)
        return restored

    def drop_nodes(self, since: int = 0) -> None:
        """Let go of the node trees of the documents of the files written since write
        number `since` (composed again if a later edit asks): the edits of one instance
        need them, the next instance's rarely. The repo's documents of those files too:
        editing them composed their trees again."""
        for path in dict.fromkeys(self.writes[since:]):
            for docs in (self._docs.get(path), self.base.parsed(path)):
                for doc in docs or ():
                    doc.drop_node()
        drop_composed()  # and the trees looked at without an edit

    def changes(self) -> dict[str, Change]:
        """What differs from the base, by path (a file written back unchanged is not listed)."""
        result: dict[str, Change] = {}
        for path in self._deleted:
            result[path] = "deleted"
        for path, text in self._written.items():
            if not self.base.exists(path):
                result[path] = "added"
            elif text.encode("utf-8") != self.base.read_bytes(path):
                result[path] = "modified"
        return dict(sorted(result.items()))
