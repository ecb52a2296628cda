"""A renamed object takes every reference to it along, throughout the repo.

When a patch changes `metadata.name` (`linkerd` -> `linkerd-control-plane`), Flux and
kustomize still look for the old name wherever the repo names it: `dependsOn` of other
HelmReleases and Flux Kustomizations, `healthChecks`, overlay patches (a strategic-merge
file names its target by `metadata.name`; `patches:` and `patchesJson6902` by
`target.name`; Flux `spec.patches` too), `valuesFrom` and `sourceRef`. Left alone, the
overlay's `kustomize build` fails and Flux stalls the dependents. The Flux model
(`FluxModel.references`) finds them; this module rewrites each one in place.

Only references read by the clusters that render the renamed object are followed (a
per-cluster copy of the same name elsewhere is another object); a repo the model finds no
cluster in falls back to the instance's folder. A patch target written as a regular
expression is not rewritten: it becomes a manual step when it no longer matches.
"""

from __future__ import annotations

import bisect
import re
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING

from engine.planning.planmodel import Note, ReportItem
from engine.recipe.models import Op
from engine.repo.flux.model import FluxModel
from engine.repo.flux.references import Reference
from engine.repo.selectors import in_scope
from engine.repo.workspace import Overlay, scope_range
from engine.yamltext.embedded import patch_embedded
from engine.yamltext.patching import escape_token
from engine.yamltext.textpatch import patch_text
from engine.yamltext.yamldoc import YamlDocument

if TYPE_CHECKING:
    from engine.recipe.steps import StepRun

FOLLOWED = ("HelmRelease", "Kustomization", "HelmRepository", "OCIRepository", "ConfigMap")


def _pointer(keys: tuple[str | int, ...]) -> str:
    return "".join("/" + escape_token(str(k)) for k in keys)


def _value(data: object, keys: tuple[str | int, ...]) -> object:
    for key in keys:
        if isinstance(key, int) and isinstance(data, list) and key < len(data):
            data = data[key]
        elif isinstance(data, dict):
            data = data.get(key)
        else:
            return None
    return data


def _reached(run: StepRun, model: FluxModel, before: YamlDocument, ref: Reference) -> bool:
    clusters = set(model.clusters_of(before.path))
    if not clusters:
        return in_scope(ref.file, run.scope)
    return bool(clusters & set(model.clusters_of(ref.file)))


class _Within:
    """The overlay as seen through `files` (sorted) alone: the files `_reached` can accept.
    A rename in each of N clusters searching the whole repo for references was quadratic;
    each searches its own clusters' files instead (the same references, fewer reads)."""

    def __init__(self, overlay: Overlay, files: list[str]) -> None:
        self.overlay = overlay
        self.files = files

    def yaml_files(self) -> list[str]:
        return [path for path in self.files if self.overlay.exists(path)]

    def exists(self, path: str) -> bool:
        return self.overlay.exists(path)

    def read_text(self, path: str) -> str:
        return self.overlay.read_text(path)

    def documents(self, path: str) -> list[YamlDocument]:
        return self.overlay.documents(path)

    def plain_documents(self, path: str) -> list[YamlDocument]:
        return self.overlay.plain_documents(path)

    def candidates(
        self, *, kinds: Sequence[str] = (), contains: Sequence[str] = ()
    ) -> Sequence[str]:
        found = self.overlay.candidates(kinds=kinds, contains=contains)  # sorted
        return [path for path in self.files if _listed(found, path)]


def _listed(paths: Sequence[str], path: str) -> bool:
    at = bisect.bisect_left(paths, path)
    return at < len(paths) and paths[at] == path


class _NewFiles:
    """The files a plan created (not in the repo), by the clusters that would read them;
    caught up from the overlay's write log, never rescanned."""

    def __init__(self) -> None:
        self.seen = 0
        self.all: set[str] = set()
        self.by_cluster: dict[str, set[str]] = {}

    def update(self, overlay: Overlay, model: FluxModel) -> None:
        for path in overlay.writes[self.seen :]:
            if path not in self.all and not overlay.base.exists(path):
                self.all.add(path)
                for name in model.clusters_of(path):
                    self.by_cluster.setdefault(name, set()).add(path)
        self.seen = len(overlay.writes)


_NEW: weakref.WeakKeyDictionary[Overlay, _NewFiles] = weakref.WeakKeyDictionary()


def _reachable(run: StepRun, model: FluxModel, before: YamlDocument) -> list[str]:
    """Every file `_reached` may accept for `before`: its clusters' files, or its scope's
    when no cluster renders it (with the files the plan created there), sorted."""
    new = _NEW.setdefault(run.overlay, _NewFiles())
    new.update(run.overlay, model)
    clusters = model.clusters_of(before.path)
    if clusters:
        files = {path for name in clusters for path in model.files_of(name)}
        for name in clusters:
            files |= new.by_cluster.get(name, set())
    else:
        listed = run.overlay.base.yaml_files_view()
        start, end = scope_range(listed, run.scope)
        files = set(listed[start:end]) | {p for p in new.all if in_scope(p, run.scope)}
    return sorted(files)


def follow_rename(run: StepRun, before: YamlDocument, after: YamlDocument) -> None:
    """After a patch renamed `before` into `after`, rename every reference to it."""
    old, new = before.name, after.name
    kind = before.kind
    if not old or not new or old == new or kind not in FOLLOWED:
        return
    model = run.flux()
    namespace = model.effective_namespace(before.path, before.index) or before.namespace
    reader = _Within(run.overlay, _reachable(run, model, before))
    for ref in model.references(kind, old, namespace, reader=reader):
        if (ref.file, ref.doc_index) == (after.path, after.index):
            continue
        if not _reached(run, model, before, ref):
            continue
        _rename_at(run, ref, kind, old, new)


def _rename_at(run: StepRun, ref: Reference, kind: str, old: str, new: str) -> None:
    doc = run.overlay.documents(ref.file)[ref.doc_index]
    text = run.overlay.read_text(ref.file)
    where = f"{run.where}: references to {kind} {old} in {ref.file}"
    if ref.inner:
        op = Op(op="replace", path=_pointer(ref.inner), value=new)
        done = patch_embedded(text, doc, ref.field, [op], where=where)
        if done is None:
            _manual(run, ref, kind, old, new, "the inline patch is not YAML Waypath can edit")
            return
        new_text, documents = done.text, done.documents
    else:
        current = _value(doc.data, ref.field)
        if current != old:  # a pattern (patch target names are regular expressions)
            if isinstance(current, str) and not _matches(current, new):
                _manual(run, ref, kind, old, new, f"its name pattern `{current}` no longer matches")
            return
        op = Op(op="replace", path=_pointer(ref.field), value=new)
        patched = patch_text(ref.file, text, ref.doc_index, [op], where=where,
                             documents=run.overlay.documents(ref.file))
        new_text, documents = patched.text, patched.documents
    if new_text != text:
        run.overlay.write_text(ref.file, new_text, documents=documents)
        run.reports.append(
            ReportItem("rename", f"{ref.via} names {kind} {old}: now {new}", ref.file)
        )


def _matches(pattern: str, name: str) -> bool:
    try:
        return re.fullmatch(pattern, name) is not None
    except re.error:
        return pattern == name


def _manual(run: StepRun, ref: Reference, kind: str, old: str, new: str, why: str) -> None:
    line = f":{ref.line}" if ref.line else ""
    note = Note(
        title=f"Point {ref.file}{line} at {kind} {new}",
        text=f"It names {kind} {old} ({ref.via}), which this commit renames to {new}; "
        f"Waypath did not change it: {why}.",
    )
    run.notes.add(note)
