"""Every place in the repo that names an object: `dependsOn` (HelmRelease and Flux
Kustomization), `healthChecks`, patch targets and SMP patch names, `valuesFrom`,
`substituteFrom` and `sourceRef`/`chartRef` names — with file, document, field and line,
so that a rename can follow them all."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from engine.errors import WaypathError
from engine.repo.flux.kustomize import KUSTOMIZATION_FILES, join
from engine.repo.flux.model import FLUX_KS_API, FluxModel
from engine.repo.flux.resources import FileReader
from engine.yamltext.yamldoc import YamlDocument, load_one

Key = str | int


@dataclass(frozen=True)
class Reference:
    """`file` document `doc_index`, at `field` (keys from the document root), names the
    object. `via` says how: dependsOn, healthChecks, patch-target, patch-name, valuesFrom,
    substituteFrom, sourceRef. For a patch written inline in a kustomization file, `field`
    points at the patch text and `inner` at the name inside it."""

    file: str
    doc_index: int
    field: tuple[Key, ...]
    via: str
    line: int | None
    inner: tuple[Key, ...] = ()


def node_line(node: yaml.Node | None, keys: tuple[Key, ...]) -> int | None:
    """The 1-based line of the value at `keys` in a composed document, if present."""
    for key in keys:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            return None
    return None if node is None else node.start_mark.line + 1


def _docs(reader: FileReader, path: str) -> list[YamlDocument]:
    """A file's documents for reading (no node trees: a rename reads every kustomization
    file and HelmRelease of its clusters; only a match needs a line, see `_Finder.line`)."""
    try:
        return reader.plain_documents(path)
    except WaypathError:
        return []


def _namespaces(model: FluxModel, doc: YamlDocument) -> set[str]:
    """The namespaces a referrer has in the clusters (its literal one if none renders it)."""
    found = {r.namespace or "default" for r in model.renderings(doc.path, doc.index)}
    return found or {doc.namespace or "default"}


def _at(data: Any, field: tuple[Key, ...]) -> Any:
    for key in field:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _name_matches(pattern: str, name: str) -> bool:
    try:
        return re.fullmatch(pattern, name) is not None
    except re.error:
        return pattern == name


class _Finder:
    def __init__(
        self, model: FluxModel, reader: FileReader, kind: str, name: str, namespace: str | None
    ) -> None:
        self.model, self.reader = model, reader
        self.kind, self.name, self.namespace = kind, name, namespace

    def line(self, doc: YamlDocument, keys: tuple[Key, ...]) -> int | None:
        """The line of `keys` in a matched document (its node tree composed for this)."""
        if doc.node is None and doc.data is not None:
            try:
                doc = self.reader.documents(doc.path)[doc.index]
            except (WaypathError, IndexError):
                return None
        return node_line(doc.node, keys)

    def ns_ok(self, namespaces: set[str]) -> bool:
        return self.namespace is None or self.namespace in namespaces

    def entries(
        self, doc: YamlDocument, field: tuple[Key, ...], via: str, kind_key: str | None
    ) -> Iterator[Reference]:
        value = _at(doc.data, field)
        if not isinstance(value, list):
            return
        own: set[str] | None = None  # asked only for a match: a shared base has N renderings
        for index, entry in enumerate(value):
            if not isinstance(entry, dict) or str(entry.get("name")) != self.name:
                continue
            if kind_key is not None and str(entry.get(kind_key) or "") != self.kind:
                continue
            if entry.get("namespace"):
                namespaces = {str(entry["namespace"])}
            else:
                own = _namespaces(self.model, doc) if own is None else own
                namespaces = own
            if self.ns_ok(namespaces):
                at = (*field, index, "name")
                yield Reference(doc.path, doc.index, at, via, self.line(doc, at))

    def source_ref(self, doc: YamlDocument, field: tuple[Key, ...]) -> Iterator[Reference]:
        value = _at(doc.data, field)
        if not isinstance(value, dict) or str(value.get("name")) != self.name:
            return
        default = {"sourceRef": "HelmRepository", "chartRef": "OCIRepository"}.get(
            str(field[-1]), ""
        )
        if str(value.get("kind") or default) != self.kind:
            return
        namespaces = (
            {str(value["namespace"])} if value.get("namespace") else _namespaces(self.model, doc)
        )
        if self.ns_ok(namespaces):
            at = (*field, "name")
            yield Reference(doc.path, doc.index, at, "sourceRef", self.line(doc, at))

    # -- objects that name others ------------------------------------------------

    def in_objects(self) -> Iterator[Reference]:
        for path in self.reader.candidates(kinds=["HelmRelease"], contains=[self.name]):
            for doc in _docs(self.reader, path):
                if doc.kind != "HelmRelease":
                    continue
                if self.kind == "HelmRelease":
                    yield from self.entries(doc, ("spec", "dependsOn"), "dependsOn", None)
                if self.kind in ("ConfigMap", "Secret"):
                    yield from self.entries(doc, ("spec", "valuesFrom"), "valuesFrom", "kind")
                yield from self.source_ref(doc, ("spec", "chart", "spec", "sourceRef"))
                yield from self.source_ref(doc, ("spec", "chartRef"))
        for path in self.reader.candidates(kinds=["Kustomization"], contains=[self.name]):
            for doc in _docs(self.reader, path):
                if doc.kind != "Kustomization" or not (doc.api_version or "").startswith(
                    FLUX_KS_API
                ):
                    continue
                if self.kind == "Kustomization":
                    yield from self.entries(doc, ("spec", "dependsOn"), "dependsOn", None)
                yield from self.entries(doc, ("spec", "healthChecks"), "healthChecks", "kind")
                if self.kind in ("ConfigMap", "Secret"):
                    yield from self.entries(
                        doc, ("spec", "postBuild", "substituteFrom"), "substituteFrom", "kind"
                    )
                yield from self.targets(doc, ("spec", "patches"), None)

    # -- patches -----------------------------------------------------------------

    def targets(
        self, doc: YamlDocument, field: tuple[Key, ...], folder: str | None
    ) -> Iterator[Reference]:
        value = _at(doc.data, field)
        if not isinstance(value, list):
            return
        for index, entry in enumerate(value):
            at = (*field, index)
            if isinstance(entry, str):  # patchesStrategicMerge: a file or inline YAML
                if "\n" in entry:
                    yield from self.inline(doc, at, entry)
                elif folder is not None:
                    yield from self.patch_file(join(folder, entry))
                continue
            if not isinstance(entry, dict):
                continue
            target = entry.get("target")
            if isinstance(target, dict) and target.get("name") is not None:
                if str(target.get("kind") or self.kind) == self.kind and _name_matches(
                    str(target["name"]), self.name
                ):
                    where = (*at, "target", "name")
                    yield Reference(
                        doc.path, doc.index, where, "patch-target", self.line(doc, where)
                    )
                continue  # a targeted patch's own name is ignored by kustomize
            if isinstance(target, dict):
                continue
            if isinstance(entry.get("patch"), str):
                yield from self.inline(doc, (*at, "patch"), entry["patch"])
            elif entry.get("path") and folder is not None:
                yield from self.patch_file(join(folder, str(entry["path"])))

    def _names_me(self, content: Any) -> bool:
        if not isinstance(content, dict) or content.get("kind") != self.kind:
            return False
        meta = content.get("metadata")
        return isinstance(meta, dict) and str(meta.get("name")) == self.name

    def inline(self, doc: YamlDocument, at: tuple[Key, ...], text: str) -> Iterator[Reference]:
        try:
            content = load_one(text)
        except yaml.YAMLError:
            return
        if self._names_me(content):
            yield Reference(
                doc.path, doc.index, at, "patch-name", self.line(doc, at), ("metadata", "name")
            )

    def patch_file(self, path: str) -> Iterator[Reference]:
        if not self.reader.exists(path) or not path.endswith((".yaml", ".yml")):
            return
        for doc in _docs(self.reader, path):
            if self._names_me(doc.data):
                at = ("metadata", "name")
                yield Reference(path, doc.index, at, "patch-name", self.line(doc, at))

    def in_kustomization_files(self) -> Iterator[Reference]:
        for path in self.reader.yaml_files():
            if posixpath.basename(path) not in KUSTOMIZATION_FILES:
                continue
            folder = posixpath.dirname(path) or "."
            for doc in _docs(self.reader, path)[:1]:
                for key in ("patchesStrategicMerge", "patches", "patchesJson6902"):
                    yield from self.targets(doc, (key,), folder)


def find_references(
    model: FluxModel,
    reader: FileReader,
    kind: str,
    name: str,
    namespace: str | None = None,
) -> list[Reference]:
    """Every place that names `kind` `name` (in `namespace`, or any when None), sorted by
    file and position. The object's own definition is not a reference."""
    finder = _Finder(model, reader, kind, name, namespace)
    found = {*finder.in_objects(), *finder.in_kustomization_files()}
    return sorted(found, key=lambda r: (r.file, r.doc_index, r.line or 0, str(r.field)))
