"""Flux Kustomization objects as the repo's files declare them.

STAND-IN: the Flux repo model (engine/repo/flux/, issue `fluxmodel`) answers this once it
has landed; this one function is what to replace with its answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from engine.verify.tree import Tree

YAML_SUFFIXES = (".yaml", ".yml")
KUSTOMIZE_GROUP = "kustomize.toolkit.fluxcd.io/"
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_KIND_LINE = re.compile(rb"^kind:\s*Kustomization\s*$", re.MULTILINE)


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
        return str((self.data.get("metadata") or {}).get("namespace") or "")

    @property
    def name(self) -> str:
        return str((self.data.get("metadata") or {}).get("name") or "")

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


def is_flux_kustomization(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and doc.get("kind") == "Kustomization"
        and str(doc.get("apiVersion", "")).startswith(KUSTOMIZE_GROUP)
    )


def flux_kustomizations(tree: Tree) -> list[FluxKustomization]:
    """Every Flux Kustomization object in the tree's YAML files (unparseable files are
    skipped here: the kustomize build names them)."""
    found: list[FluxKustomization] = []
    for path in tree.paths:
        if not path.endswith(YAML_SUFFIXES):
            continue
        data = tree.read(path)
        if not _KIND_LINE.search(data):
            continue
        try:
            docs = list(yaml.load_all(data.decode("utf-8"), Loader=_LOADER))
        except (yaml.YAMLError, UnicodeDecodeError):
            continue
        found.extend(FluxKustomization(path, d) for d in docs if is_flux_kustomization(d))
    return found
