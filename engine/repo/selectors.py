"""Match a recipe's `select:` against the documents of the (overlaid) repo."""

from __future__ import annotations

import bisect
import fnmatch
import posixpath
import re
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from engine.recipe.models import Component, Selector
from engine.repo.detect import Reader, find_objects, paths_in_scope
from engine.yamltext.yamldoc import YamlDocument


@dataclass(frozen=True)
class ResolvedSelector:
    """A selector with its templated fields rendered."""

    selector: Selector
    name: str | None
    namespace: str | None
    file: str | None
    kustomizes: str | None

    def describe(self) -> str:
        s = self.selector
        parts = [
            f"{k}={v}"
            for k, v in (
                ("kind", s.kind),
                ("apiVersion", s.api_version),
                ("name", self.name),
                ("namespace", self.namespace),
                ("chart", s.chart),
                ("detector", s.detector),
                ("file", self.file),
                ("kustomizes", self.kustomizes),
                ("labels", s.labels or None),
            )
            if v
        ]
        return "{" + ", ".join(parts) + "}"


def resolve(selector: Selector, render: Callable[[str], str]) -> ResolvedSelector:
    def opt(value: str | None) -> str | None:
        return None if value is None else render(value)

    return ResolvedSelector(
        selector,
        opt(selector.name),
        opt(selector.namespace),
        opt(selector.file),
        opt(selector.kustomizes),
    )


def in_scope(path: str, scope: str) -> bool:
    return scope == "." or path.startswith(scope + "/")


def norm_folder(path: str) -> str:
    """`./clusters/prod/` -> `clusters/prod`; the repo root is `.`."""
    text = path.strip()
    norm = posixpath.normpath(text).lstrip("/") if text else "."
    return norm or "."


def _labels_match(doc: YamlDocument, labels: dict[str, str]) -> bool:
    have = doc.labels
    return all(str(have.get(k)) == v for k, v in labels.items())


def _kustomization_path(doc: YamlDocument) -> str | None:
    data: Any = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("spec"), dict):
        return None
    path = data["spec"].get("path")
    return norm_folder(str(path)) if path is not None else "."


def select(
    reader: Reader,
    resolved: ResolvedSelector,
    *,
    scope: str,
    component: Component,
) -> list[YamlDocument]:
    """Documents matching the selector, in path then document order."""
    s = resolved.selector
    kinds = [s.kind] if s.kind else []
    if s.detector is not None and not kinds:
        kinds = ["HelmRelease"]
    if resolved.kustomizes is not None and not kinds:
        kinds = ["Kustomization"]
    # Text the matching documents must contain: a cheap prefilter before any parsing.
    contains = [t for t in (resolved.name, s.chart if isinstance(s.chart, str) else None) if t]
    if s.api_version:
        contains.append(s.api_version.rstrip("/"))
    if resolved.kustomizes is not None:
        contains.append("kustomize.toolkit.fluxcd.io")
    paths = candidates = reader.candidates(kinds=kinds, contains=contains)
    detected: set[tuple[str, int]] | None = None
    if s.detector is not None:
        # The same matching as detection, so `chartRef` releases are found too.
        detected = {
            (o.path, o.doc.index)
            for o in find_objects(
                reader, component, scope=scope if s.scope == "instance" else ".", sources=False
            )
            if o.detector == s.detector
        }
        paths = sorted({path for path, _ in detected})

    def matched(paths: Sequence[str]) -> list[YamlDocument]:
        if resolved.kustomizes is not None:
            folder = norm_folder(resolved.kustomizes)
            if paths is candidates:  # the reader's own list: indexed once, kept up to date
                paths = _DEPLOYERS.get(reader, paths).deploying(reader, paths, folder)
            else:  # a few paths of one folder
                paths = [p for p in paths if may_deploy(reader.read_text(p), folder)]
            return _deepest_parents(
                _match(reader, paths, resolved, scope, detected), folder
            )
        return _match(reader, paths, resolved, scope, detected)

    if s.scope == "instance":
        return matched(paths_in_scope(paths, scope))
    if resolved.kustomizes is not None and scope != ".":
        # The parent Kustomization usually sits in the instance's own cluster folder:
        # look there first, and in the whole repo only when it is not there.
        found = matched(paths_in_scope(paths, scope))
        if found:
            return found
    return matched(paths)


_PATH_LINE = re.compile(r"^[ \t]+path:[ \t]*['\"]?([^'\"\s#]*)", re.MULTILINE)


def _path_lines(text: str) -> list[str] | None:
    """The folders of a text's indented `path:` lines; None when it has none."""
    found = _PATH_LINE.findall(text)
    return [norm_folder(raw) for raw in found] if found else None


class _Deployers:
    """Which Flux Kustomization files may deploy a folder, by their `path:` lines, indexed
    once per reader and updated per written file (`Overlay.writes`). `kustomizes:`
    selectors ask once per instance; testing every Kustomization file of the fleet each
    time was quadratic where they live outside the instance's folder (overlays layouts)."""

    def __init__(self) -> None:
        self._folders: dict[str, list[str] | None] = {}  # file -> its path lines
        self._by_folder: dict[str, set[str]] = {}  # folder -> files with that path line
        self._anywhere: set[str] = set()  # no path line, or `.`: may deploy anything
        self._seen = 0  # entries of the reader's write log already applied
        self.paths: Sequence[str] = ()

    def _drop(self, path: str) -> None:
        for folder in self._folders.pop(path, None) or ():
            self._by_folder.get(folder, set()).discard(path)
        self._anywhere.discard(path)

    def _add(self, path: str, text: str) -> None:
        folders = self._folders[path] = _path_lines(text)
        if folders is None or "." in folders:
            self._anywhere.add(path)
            return
        for folder in folders:
            self._by_folder.setdefault(folder, set()).add(path)

    def deploying(self, reader: Reader, paths: Sequence[str], folder: str) -> list[str]:
        """The files of sorted `paths` that may deploy `folder` (`may_deploy`'s answer).
        `paths` is the reader's own candidates list (kept up to date by its writes)."""
        log: list[str] = getattr(reader, "writes", [])
        if self._seen == 0 and not self._folders:
            for path in paths:
                self._add(path, reader.read_text(path))
        else:
            for changed in dict.fromkeys(log[self._seen :]):
                self._drop(changed)
                if _holds(paths, changed):
                    self._add(changed, reader.read_text(changed))
        self._seen = len(log)
        found = set(self._anywhere)
        parts = folder.split("/") if folder != "." else []
        for depth in range(1, len(parts) + 1):
            found |= self._by_folder.get("/".join(parts[:depth]), set())
        return [p for p in sorted(found) if _holds(paths, p)]


def _holds(paths: Sequence[str], path: str) -> bool:
    at = bisect.bisect_left(paths, path)
    return at < len(paths) and paths[at] == path


class _PerReader:
    """A `_Deployers` per reader object and candidates list, for as long as the reader
    lives (the list is the reader's own: its identity is stable)."""

    def __init__(self) -> None:
        self._indexes: weakref.WeakKeyDictionary[object, dict[int, _Deployers]] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, reader: object, paths: Sequence[str]) -> _Deployers:
        try:
            per_list = self._indexes.setdefault(reader, {})
        except TypeError:  # not weak-referenceable: no index to keep
            return _Deployers()
        index = per_list.get(id(paths))
        if index is None:
            index = per_list[id(paths)] = _Deployers()
            index.paths = paths  # keeps the list (and so its id) alive with the index
        return index


_DEPLOYERS = _PerReader()


def may_deploy(text: str, folder: str) -> bool:
    """Could a Flux Kustomization in `text` have a spec.path at or above `folder`?

    A text test that spares parsing the many Kustomizations of a fleet repo. It only says
    no when it found `path:` lines and none of them fits; anything unusual (flow style,
    no path line) is left to the parser.
    """
    found = _PATH_LINE.findall(text)
    if not found:
        return True
    for raw in found:
        path = norm_folder(raw)
        if path == "." or folder == path or folder.startswith(path + "/"):
            return True
    return False


def _match(
    reader: Reader,
    paths: Sequence[str],
    resolved: ResolvedSelector,
    scope: str,
    detected: set[tuple[str, int]] | None,
) -> list[YamlDocument]:
    s = resolved.selector
    wanted_charts = {s.chart} if isinstance(s.chart, str) else set(s.chart or [])
    results: list[YamlDocument] = []
    for path in paths:
        if resolved.file is not None:
            relative = path if s.scope == "repo" or scope == "." else path[len(scope) + 1 :]
            if not fnmatch.fnmatchcase(relative, resolved.file) and not fnmatch.fnmatchcase(
                path, resolved.file
            ):
                continue
        for doc in reader.documents(path):
            if not isinstance(doc.data, dict):
                continue
            if s.kind and doc.kind != s.kind:
                continue
            if s.api_version and not _api_matches(doc.api_version or "", s.api_version):
                continue
            if resolved.name is not None and doc.name != resolved.name:
                continue
            if resolved.namespace is not None and doc.namespace != resolved.namespace:
                continue
            if wanted_charts and doc.chart not in wanted_charts:
                continue
            if detected is not None and (doc.path, doc.index) not in detected:
                continue
            if s.labels and not _labels_match(doc, s.labels):
                continue
            results.append(doc)
    return results


def _api_matches(have: str, wanted: str) -> bool:
    return have.startswith(wanted) if wanted.endswith("/") else have == wanted


def _deepest_parents(docs: list[YamlDocument], folder: str) -> list[YamlDocument]:
    """Flux Kustomizations whose spec.path is `folder` or the deepest folder above it."""
    best: list[YamlDocument] = []
    best_depth = -1
    for doc in docs:
        path = _kustomization_path(doc)
        if path is None:
            continue
        if not (path == "." or folder == path or folder.startswith(path + "/")):
            continue
        depth = 0 if path == "." else path.count("/") + 1
        if depth > best_depth:
            best, best_depth = [doc], depth
        elif depth == best_depth:
            best.append(doc)
    return best
