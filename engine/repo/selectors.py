"""Match a recipe's `select:` against the documents of the (overlaid) repo."""

from __future__ import annotations

import fnmatch
import posixpath
import re
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
    paths = reader.candidates(kinds=kinds, contains=contains)
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
