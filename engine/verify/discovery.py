"""The objects verify checks, and the Flux Kustomizations of each cluster as the Flux repo
model (engine/repo/flux) finds them: clusters from gotk-sync.yaml roots (or inferred), each
Kustomization as its cluster receives it (spec.path, targetNamespace and patches after its
parent's build)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from engine.errors import WaypathError
from engine.repo.flux import FluxModel
from engine.repo.workspace import Overlay
from engine.yamltext.yamldoc import decode, parse_file

YAML_SUFFIXES = (".yaml", ".yml")


def documents(path: str, data: bytes) -> list[Any]:
    """The documents of a repo file as the one parsing path reads them (the same limits on
    size, nesting and aliases as everywhere); none when it cannot be read (the repo model
    already reported the file)."""
    try:
        return [d.data for d in parse_file(path, decode(path, data))]
    except WaypathError:
        return []


def mapping(value: Any) -> dict[str, Any]:
    """`value` if it is a mapping, else an empty one: a field of the wrong type (a list
    where Flux wants an object) reads as missing; the schema check reports it."""
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Obj:
    """An object as Flux would apply it: the repo file it comes from, and its data."""

    origin: str
    data: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @property
    def namespace(self) -> str:
        return str(mapping(self.data.get("metadata")).get("namespace") or "")

    @property
    def name(self) -> str:
        return str(mapping(self.data.get("metadata")).get("name") or "")

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.data.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def label(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {ns}{self.name}"


@dataclass(frozen=True)
class FluxKustomization(Obj):
    """One Flux Kustomization object and the file that defines it."""

    @property
    def file(self) -> str:
        return self.origin

    @property
    def label(self) -> str:
        return f"Kustomization {self.namespace}/{self.name} (path {self.spec.get('path', '')})"


def cluster_kustomizations(model: FluxModel, reader: Overlay) -> dict[str, list[FluxKustomization]]:
    """Cluster name -> its Flux Kustomizations (those with a file; an inferred cluster's
    implicit root has none and nothing to build)."""
    found: dict[str, list[FluxKustomization]] = {c.name: [] for c in model.clusters}
    for ks in model.kustomizations:
        if ks.file is None:
            continue
        raw = reader.documents(ks.file)[ks.doc_index].data
        data = copy.deepcopy(raw) if isinstance(raw, dict) else {}
        spec = data.setdefault("spec", {})
        spec["path"] = "./" + ks.path if ks.path != "." else "./"
        if ks.target_namespace:
            spec["targetNamespace"] = ks.target_namespace
        if ks.patches:
            spec["patches"] = ks.patches
        for cluster in ks.clusters:
            found.setdefault(cluster, []).append(FluxKustomization(ks.file, data))
    return found
